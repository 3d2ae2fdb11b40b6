"""Activity feed of one of the caller's watched wallets (transfers in/out, approvals for all)."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.api.serializers import ErrorSerializer
from nft import activity_selectors as selectors
from nft.activity_selectors import FEED_MAX
from nft.models import ActivityKind, TokenStandard


class FeedQuery(serializers.Serializer[Any]):
    limit = serializers.IntegerField(min_value=1, max_value=FEED_MAX, default=50)
    before = serializers.IntegerField(min_value=1, required=False)


class ActivitySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    token_standard = serializers.ChoiceField(choices=TokenStandard.choices)
    contract = serializers.CharField(help_text="Token contract (any ERC-721 / ERC-20, not only ours).")
    ours = serializers.BooleanField(help_text="The contract is one of the platform's collections.")
    token_id = serializers.CharField(allow_null=True, help_text="ERC-721 token id (decimal string).")
    amount = serializers.CharField(allow_null=True, help_text="ERC-20 amount in base units (decimal string).")
    counterparty = serializers.CharField(help_text="The other side of a transfer, or the approved operator.")
    operator_known = serializers.BooleanField(
        allow_null=True, help_text="Approvals: the operator is one of the platform's own addresses."
    )
    tx_hash = serializers.CharField()
    log_index = serializers.IntegerField()
    block_number = serializers.IntegerField()
    block_hash = serializers.CharField()
    recorded_at = serializers.DateTimeField()


class WalletRefSerializer(serializers.Serializer[Any]):
    address = serializers.CharField()
    kind = serializers.CharField()


class FeedSerializer(serializers.Serializer[Any]):
    wallet = WalletRefSerializer()
    chain_id = serializers.IntegerField()
    results = ActivitySerializer(many=True)
    next_before = serializers.IntegerField(
        allow_null=True, help_text="Pass as `before` for the next (older) page; null on the last page."
    )


class WalletActivityView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["nft"],
        summary="Activity of one of your wallets (newest first)",
        description=(
            "Transfer and ApprovalForAll logs the wallet was a party to, on any ERC-721 / ERC-20 "
            "contract, as indexed by the chain watcher. Rows removed by a reorg disappear."
        ),
        parameters=[
            OpenApiParameter("limit", int, description=f"1 to {FEED_MAX}, default 50"),
            OpenApiParameter("before", int, description="Activity id: return only older entries"),
        ],
        responses={
            200: FeedSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="Malformed address or query (`invalid_address`, `validation_error`).",
            ),
            401: OpenApiResponse(ErrorSerializer, description="Not logged in (`not_authenticated`)."),
            404: OpenApiResponse(ErrorSerializer, description="Not one of your wallets (`not_found`)."),
        },
    )
    def get(self, request: Request, address: str) -> Response:
        query = FeedQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        wallet = selectors.owned_wallet(user_id=int(request.user.pk or 0), address=address)
        limit = query.validated_data["limit"]
        rows = selectors.wallet_feed(wallet=wallet, before=query.validated_data.get("before"), limit=limit)
        return Response(
            {
                "wallet": {"address": wallet.address, "kind": wallet.kind},
                "chain_id": int(settings.CHAIN_ID),
                "results": [selectors.activity_row(r) for r in rows],
                "next_before": rows[-1].pk if len(rows) == limit else None,
            }
        )
