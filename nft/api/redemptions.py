"""Thin DRF views of phygital redemption: start (custodial: we sign; linked: the wallet signs), post the
wallet's transaction hash, read the state."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.addresses import parse_shipping_address
from nft.api.docs import RedemptionDoc, nft_errors
from nft.models import Redemption, RedemptionStatus
from nft.services import redemptions
from nft.services.mints import get_collection


class RedemptionInput(serializers.Serializer[Any]):
    chain_id = serializers.IntegerField(min_value=1, default=settings.CHAIN_ID)
    contract = serializers.RegexField(r"^0x[0-9a-fA-F]{40}$")
    token_id = serializers.RegexField(r"^[0-9]{1,78}$")
    shipping_address = serializers.JSONField(
        help_text="name, line1, line2, city, postal_code, region, country"
    )


class RedemptionTxInput(serializers.Serializer[Any]):
    tx_hash = serializers.RegexField(r"^0x[0-9a-fA-F]{64}$")


def redemption_body(redemption: Redemption) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": redemption.pk,
        "chain_id": redemption.collection.chain_id,
        "contract": redemption.collection.address,
        "token_id": str(int(redemption.token_id)),
        "owner_address": redemption.owner_address,
        "wallet_kind": redemption.wallet_kind,
        "status": redemption.status,
        "tx_hash": redemption.tx_hash or None,
        "shipping_address": redemption.shipping_address,
        "failure_reason": redemption.failure_reason or None,
        "created_at": redemption.created_at,
        "confirmed_at": redemption.confirmed_at,
    }
    if redemption.status == RedemptionStatus.AWAITING_SIGNATURE:
        body["transaction"] = redemptions.redeem_transaction(redemption)  # for the wallet to sign
    return body


class RedemptionsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["nft"],
        summary="Redeem a phygital token for its physical item",
        request=RedemptionInput,
        responses={202: RedemptionDoc, **nft_errors(400, 401, 403, 404, 409, 502, 503)},
    )
    def post(self, request: Request) -> Response:
        data = RedemptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        address = parse_shipping_address(v["shipping_address"])  # 400 per field, before any chain call
        redemption = redemptions.start_redemption(
            user=request.user,
            collection=get_collection(chain_id=v["chain_id"], address=v["contract"]),
            token_id=int(v["token_id"]),
            shipping_address=address.as_dict(),
        )
        return Response(redemption_body(redemption), status=202)


class RedemptionView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["nft"],
        summary="One of your redemptions",
        responses={200: RedemptionDoc, **nft_errors(401, 404)},
    )
    def get(self, request: Request, redemption_id: int) -> Response:
        return Response(
            redemption_body(redemptions.redemption_of(user=request.user, redemption_id=redemption_id))
        )


class RedemptionTxView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["nft"],
        summary="The hash of the redeem transaction your wallet sent",
        request=RedemptionTxInput,
        responses={202: RedemptionDoc, **nft_errors(400, 401, 404, 409, 422, 502, 503)},
    )
    def post(self, request: Request, redemption_id: int) -> Response:
        data = RedemptionTxInput(data=request.data)
        data.is_valid(raise_exception=True)
        redemption = redemptions.submit_redemption_tx(
            user=request.user, redemption_id=redemption_id, tx_hash=data.validated_data["tx_hash"]
        )
        return Response(redemption_body(redemption), status=202)
