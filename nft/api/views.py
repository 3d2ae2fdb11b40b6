"""Thin DRF views of the chain layer: explorer reads, wallets with SIWE, claims."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFound
from nft import selectors
from nft.api.docs import (
    AddressBalanceDoc,
    GasPriceDoc,
    OwnerTokensDoc,
    SiweNonceDoc,
    TokenDetailDoc,
    TransactionStatusDoc,
    nft_errors,
)
from nft.models import Claim, Wallet
from nft.services import wallets
from nft.services.mints import get_collection


class WalletSerializer(serializers.ModelSerializer[Wallet]):
    class Meta:
        model = Wallet
        fields = ["address", "kind", "created_at"]


class ClaimSerializer(serializers.ModelSerializer[Claim]):
    token_id = serializers.SerializerMethodField()
    contract = serializers.CharField(source="collection.address")

    class Meta:
        model = Claim
        fields = ["id", "contract", "token_id", "from_address", "to_address", "status", "created_at"]

    def get_token_id(self, obj: Claim) -> str:
        return str(int(obj.token_id))


class SiweVerifyInput(serializers.Serializer[Any]):
    message = serializers.CharField(max_length=10_000, trim_whitespace=False)
    signature = serializers.RegexField(r"^0x[0-9a-fA-F]{130}$")


class ClaimInput(serializers.Serializer[Any]):
    chain_id = serializers.IntegerField(min_value=1, default=settings.CHAIN_ID)
    contract = serializers.RegexField(r"^0x[0-9a-fA-F]{40}$")
    token_id = serializers.RegexField(r"^[0-9]{1,78}$")
    to_address = serializers.RegexField(r"^0x[0-9a-fA-F]{40}$", required=False)


class GasPriceView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["nft"],
        summary="Current fees on the chain",
        responses={200: GasPriceDoc, **nft_errors(502, 503)},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.gas_price())


class AddressBalanceView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["nft"],
        summary="Native balance and our tokens held by an address",
        responses={200: AddressBalanceDoc, **nft_errors(400, 502, 503)},
    )
    def get(self, request: Request, address: str) -> Response:
        return Response(selectors.address_balance(address=address))


class OwnerTokensView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["nft"],
        summary="Tokens of our collections an address holds (as indexed)",
        responses={200: OwnerTokensDoc, **nft_errors(400)},
    )
    def get(self, request: Request, address: str) -> Response:
        return Response({"address": address, "tokens": selectors.tokens_of_owner(address=address)})


class TokenView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["nft"],
        summary="One token: owner, mint record, token URI",
        responses={200: TokenDetailDoc, **nft_errors(400, 404)},
    )
    def get(self, request: Request, chain_id: int, contract: str, token_id: str) -> Response:
        tid = selectors.parse_token_id(token_id)
        return Response(selectors.token_detail(chain_id=chain_id, contract=contract, token_id=tid))


class TransactionView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["nft"],
        summary="Status of one of the platform's transactions",
        responses={200: TransactionStatusDoc, **nft_errors(404)},
    )
    def get(self, request: Request, tx_hash: str) -> Response:
        status = selectors.transaction_status(tx_hash=tx_hash)
        if status is None:
            raise NotFound(f"transaction {tx_hash} is not one of ours")
        return Response(status)


class WalletsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["nft"], summary="Your wallets", responses={200: WalletSerializer(many=True), **nft_errors(401)}
    )
    def get(self, request: Request) -> Response:
        return Response(WalletSerializer(selectors.wallets_of(user=request.user), many=True).data)


class CustodialWalletView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["nft"],
        summary="Your custodial wallet (created on first call)",
        request=None,
        responses={201: WalletSerializer, **nft_errors(401, 503)},
    )
    def post(self, request: Request) -> Response:
        return Response(WalletSerializer(wallets.custodial_wallet(user=request.user)).data, status=201)


class SiweNonceView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["nft"],
        summary="A nonce for a Sign-In with Ethereum message",
        request=None,
        responses={201: SiweNonceDoc, **nft_errors(401)},
    )
    def post(self, request: Request) -> Response:
        nonce = wallets.issue_siwe_nonce(user=request.user)
        return Response(
            {
                "nonce": nonce.nonce,
                "expires_at": nonce.expires_at,
                "domain": settings.SIWE_DOMAIN,
                "uri": settings.SIWE_URI,
                "chain_id": settings.CHAIN_ID,
                "version": "1",
            },
            status=201,
        )


class SiweVerifyView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["nft"],
        summary="Link the wallet that signed a SIWE message",
        request=SiweVerifyInput,
        responses={201: WalletSerializer, **nft_errors(400, 401, 409)},
    )
    def post(self, request: Request) -> Response:
        data = SiweVerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        wallet = wallets.link_wallet(user=request.user, **data.validated_data)
        return Response(WalletSerializer(wallet).data, status=201)


class ClaimsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["nft"],
        summary="Move a token from your custodial wallet to a linked one",
        request=ClaimInput,
        responses={202: ClaimSerializer, **nft_errors(400, 401, 404, 409, 502, 503)},
    )
    def post(self, request: Request) -> Response:
        data = ClaimInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        claim = wallets.claim_token(
            user=request.user,
            collection=get_collection(chain_id=v["chain_id"], address=v["contract"]),
            token_id=int(v["token_id"]),
            to_address=v.get("to_address"),
        )
        return Response(ClaimSerializer(claim).data, status=202)


class ClaimView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["nft"], summary="One of your claims", responses={200: ClaimSerializer, **nft_errors(401, 404)}
    )
    def get(self, request: Request, claim_id: int) -> Response:
        claim = (
            Claim.objects.select_related("collection")
            .filter(pk=claim_id, user_id=int(request.user.pk or 0))
            .first()
        )
        if claim is None:
            raise NotFound("no such claim")
        return Response(ClaimSerializer(claim).data)
