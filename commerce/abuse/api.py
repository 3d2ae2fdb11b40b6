"""Merchant API of the live room: flagged buyers of a drop; block / unblock a buyer."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from commerce.abuse import blocks, selectors
from commerce.abuse.errors import NotFound
from commerce.api.docs import errors
from commerce.api.views_merchant import MerchantView
from commerce.models import Drop


class FlagSerializer(serializers.Serializer):
    rule = serializers.CharField()
    reason = serializers.CharField()
    hits = serializers.IntegerField()
    last_seen_at = serializers.DateTimeField()


class FlaggedBuyerSerializer(serializers.Serializer):
    buyer_id = serializers.IntegerField()
    username = serializers.CharField()
    blocked = serializers.ChoiceField(
        choices=["", "drop", "shop"], help_text="Blocked for this drop, the shop, or not."
    )
    flags = FlagSerializer(many=True)


class BlockInput(serializers.Serializer):
    scope = serializers.ChoiceField(choices=blocks.SCOPES, default="drop")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class UnblockInput(serializers.Serializer):
    scope = serializers.ChoiceField(choices=blocks.SCOPES, default="drop")


class BlockSerializer(serializers.Serializer):
    buyer_id = serializers.IntegerField()
    drop_id = serializers.IntegerField()
    scope = serializers.CharField()
    blocked = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)


def _drop(merchant_id: int, pk: int) -> Drop:
    drop = Drop.objects.filter(pk=pk, merchant_id=merchant_id).first()
    if drop is None:
        raise NotFound("Drop not found.", details={"resource": "drop", "id": pk})
    return drop


class FlaggedBuyersView(MerchantView):
    @extend_schema(
        tags=["merchant"],
        summary="Buyers of the drop flagged by velocity rules, or blocked",
        responses={200: FlaggedBuyerSerializer(many=True), **errors(401, 404)},
    )
    def get(self, request: Request, merchant_id: int, pk: int) -> Response:
        rows = selectors.flagged_buyers(drop=_drop(self.merchant.pk, pk))
        return Response(FlaggedBuyerSerializer([r.__dict__ for r in rows], many=True).data)


class BlockBuyerView(MerchantView):
    @extend_schema(
        tags=["merchant"],
        summary="Block a buyer: their reservations are refused (403) in this drop, or in the whole shop",
        request=BlockInput,
        responses={200: BlockSerializer, 201: BlockSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, merchant_id: int, pk: int, buyer_id: int) -> Response:
        data: dict[str, Any] = self.valid(BlockInput)
        block, created = blocks.block_buyer(
            merchant_id=self.merchant.pk, drop_id=pk, buyer_id=buyer_id, scope=data["scope"],
            reason=data["reason"], by_user_id=request.user.pk,
        )  # fmt: skip
        body = {
            "buyer_id": buyer_id,
            "drop_id": pk,
            "scope": data["scope"],
            "blocked": True,
            "reason": block.reason,
        }
        return Response(
            BlockSerializer(body).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class UnblockBuyerView(MerchantView):
    @extend_schema(
        tags=["merchant"],
        summary="Lift a buyer's block (in this drop, or shop-wide)",
        request=UnblockInput,
        responses={200: BlockSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, merchant_id: int, pk: int, buyer_id: int) -> Response:
        data: dict[str, Any] = self.valid(UnblockInput)
        blocks.unblock_buyer(
            merchant_id=self.merchant.pk,
            drop_id=pk,
            buyer_id=buyer_id,
            scope=data["scope"],
            by_user_id=request.user.pk,
        )
        body = {"buyer_id": buyer_id, "drop_id": pk, "scope": data["scope"], "blocked": False, "reason": ""}
        return Response(BlockSerializer(body).data)
