"""Shipping endpoints: carriers (public) and the merchant's shipments (To-ship queue, ship, deliver, cannot ship)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce import selectors
from commerce.api.docs import errors
from commerce.api.inputs import CannotShipInput, ShipInput, ShipmentFilterInput
from commerce.api.serializers import CarrierSerializer, ShipmentSerializer
from commerce.api.views_merchant import MerchantView, _found
from commerce.carriers import CARRIERS
from commerce.models import ShipmentStatus
from commerce.services import shipments


class CarriersView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["shipping"],
        summary="Carriers a shipment can be shipped with",
        responses={200: CarrierSerializer(many=True), **errors(401)},
    )
    def get(self, request: Request) -> Response:
        return Response(CarrierSerializer(list(CARRIERS.values()), many=True).data)


class ShipmentsView(MerchantView):
    @extend_schema(
        tags=["shipping"],
        summary="The merchant's shipments; status=pending is the To-ship queue (oldest first)",
        parameters=[OpenApiParameter("status", str, enum=ShipmentStatus.values, required=False)],
        responses={200: ShipmentSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request, merchant_id: int) -> Response:
        query = ShipmentFilterInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.merchant_shipments(
            merchant_id=self.merchant.pk, status=query.validated_data.get("status")
        )
        return Response(ShipmentSerializer(rows[:500], many=True).data)


class ShipmentDetailView(MerchantView):
    @extend_schema(tags=["shipping"], responses={200: ShipmentSerializer, **errors(401, 404)})
    def get(self, request: Request, merchant_id: int, pk: int) -> Response:
        row = selectors.merchant_shipments(merchant_id=self.merchant.pk).filter(pk=pk).first()
        return Response(ShipmentSerializer(_found(row, "shipment", pk)).data)


class ShipView(MerchantView):
    @extend_schema(
        tags=["shipping"],
        summary="Mark shipped with a carrier and tracking number (the tracking link comes from the carrier)",
        request=ShipInput,
        responses={200: ShipmentSerializer, **errors(400, 401, 404, 409)},
    )
    def post(self, request: Request, merchant_id: int, pk: int) -> Response:
        data = self.valid(ShipInput)
        user_id = request.user.pk
        shipment = shipments.mark_shipped(
            shipment_id=pk,
            merchant_id=self.merchant.pk,
            carrier=data["carrier"],
            tracking_number=data["tracking_number"],
            user_id=user_id if isinstance(user_id, int) else None,
        )
        return Response(ShipmentSerializer(shipment).data)


class DeliverView(MerchantView):
    @extend_schema(
        tags=["shipping"],
        summary="Mark a shipped shipment delivered",
        request=None,
        responses={200: ShipmentSerializer, **errors(401, 404, 409)},
    )
    def post(self, request: Request, merchant_id: int, pk: int) -> Response:
        return Response(
            ShipmentSerializer(shipments.mark_delivered(shipment_id=pk, merchant_id=self.merchant.pk)).data
        )


class CannotShipView(MerchantView):
    owner_only = frozenset({"POST"})  # cancelling a shipment refunds its lines: owners only

    @extend_schema(
        tags=["shipping"],
        summary="Cannot ship: cancel the shipment and refund its order lines (owners only)",
        request=CannotShipInput,
        responses={200: ShipmentSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, merchant_id: int, pk: int) -> Response:
        data = self.valid(CannotShipInput)
        shipment = shipments.cancel_shipment(
            shipment_id=pk, merchant_id=self.merchant.pk, reason=data["reason"]
        )
        return Response(ShipmentSerializer(shipment).data)
