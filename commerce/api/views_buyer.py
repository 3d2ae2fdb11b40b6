"""Shopper endpoints: reservations, checkout, my orders. Views only translate HTTP to services."""

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce import selectors
from commerce.abuse.throttles import ReserveThrottle
from commerce.api.docs import errors
from commerce.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from commerce.api.inputs import CancelOrderInput, CheckoutInput, ReserveInput
from commerce.api.serializers import MembershipSerializer, OrderSerializer, ReservationSerializer
from commerce.errors import CommerceError, NotFound
from commerce.models import MerchantMembership, Reservation
from commerce.services.cancellations import cancel_order
from commerce.services.orders import place_order
from commerce.services.reservations import (
    MAX_QUANTITY,
    cancel_reservation,
    release_expired_reservations,
    sold_out_seen_here,
)
from commerce.services.waiting_room import missing_admission, reserve_stock_admitted
from commerce.waiting_room.docs import ADMISSION_HEADER


def _uid(request: Request) -> int:
    """The logged-in user's id (views here require authentication)."""
    user_id = request.user.pk
    assert isinstance(user_id, int)
    return user_id


class _PlainReserveInput:
    """A ReserveInput body of plain in-range integers, read without the serializer machinery.

    What ReserveInput would accept and return for such a body, at a fraction of its CPU on the
    hot path (bench/reserve_layers.py); anything else goes through ReserveInput itself, so every
    error message and shape stays the serializer's.
    """

    errors: dict[str, Any] = {}

    def __init__(self, validated: dict[str, int]) -> None:
        self.validated_data = validated

    @classmethod
    def read(cls, body: Any) -> "_PlainReserveInput | None":
        if not isinstance(body, dict) or not body.keys() <= {"drop_id", "sku_id", "quantity"}:
            return None
        read: dict[str, int] = {}
        for name, default, top in (
            ("drop_id", None, 2**62),
            ("sku_id", None, 2**62),
            ("quantity", 1, MAX_QUANTITY),
        ):
            value = body.get(name, default)
            if type(value) is not int or not 1 <= value <= top:
                return None
            read[name] = value
        return cls(read)


def plain_reserve_fields(body: Any) -> dict[str, int] | None:
    """A reserve body's fields when it is plain in-range integers (as ReserveInput returns them), else None."""
    data = _PlainReserveInput.read(body)
    return None if data is None else data.validated_data


def _reserve_input(view: APIView, request: Request) -> ReserveInput | _PlainReserveInput:
    """The request's ReserveInput, validated once per request (precheck and handler share it)."""
    data: ReserveInput | _PlainReserveInput | None = getattr(view, "_reserve_input", None)
    if data is None:
        data = _PlainReserveInput.read(request.data)
        if data is None:
            data = ReserveInput(data=request.data)
            data.is_valid()
        view._reserve_input = data  # type: ignore[attr-defined]  # DRF makes a view per request
    return data


def known_refusal(
    *, admission_token: str | None, drop_id: int, sku_id: int, quantity: int
) -> CommerceError | None:
    """Refusals this process knows without the database, for a valid body: no admission token in a
    queued drop (the scripts that ignore the queue), then the sold-out memo (a stampede's late
    buyers). In the order the service checks them. Also asked in front of Django (commerce/api/edge.py)."""
    refusal: CommerceError | None = missing_admission(admission_token=admission_token, drop_id=drop_id)
    if refusal is None:
        refusal = sold_out_seen_here(drop_id=drop_id, sku_id=sku_id, quantity=quantity)
    return refusal


def _known_refusal(view: APIView, request: Request) -> Response | None:
    """`known_refusal`, answered before any Idempotency-Key claim."""
    data = _reserve_input(view, request)
    if data.errors:
        return None  # the ordinary path explains the bad input
    refusal = known_refusal(admission_token=request.headers.get("Admission-Token"), **data.validated_data)
    return None if refusal is None else view.handle_exception(refusal)


class ReservationListCreateView(APIView):
    # The stampede endpoint; its authentication is settings' (token -> user cached: commerce/api/auth.py).
    permission_classes = [IsAuthenticated]
    throttle_classes = [ReserveThrottle]  # POST only: per buyer and per IP (commerce/abuse/throttles.py)
    # JSON only: no content negotiation over the browsable API's renderer and form parsers.
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    @extend_schema(
        tags=["reservations"],
        summary="My reservations (expired ones are released on the way)",
        responses={200: ReservationSerializer(many=True), **errors(401)},
    )
    def get(self, request: Request) -> Response:
        release_expired_reservations(buyer_id=_uid(request), limit=100)  # lazy expiry on read
        rows = selectors.buyer_reservations(buyer_id=_uid(request))[:200]
        return Response(ReservationSerializer(rows, many=True).data)

    @extend_schema(
        tags=["reservations"],
        summary="Reserve units of a SKU in a live drop",
        request=ReserveInput,
        parameters=[IDEMPOTENCY_HEADER, ADMISSION_HEADER],
        responses={201: ReservationSerializer, **errors(400, 401, 403, 404, 409, 422, 429, 503)},
    )
    @idempotent(precheck=_known_refusal)
    def post(self, request: Request) -> Response:
        data = _reserve_input(self, request)
        if data.errors:
            raise ValidationError(data.errors)
        # Queued drops (waiting room) need an admission token: commerce/services/waiting_room.py.
        reservation = reserve_stock_admitted(
            admission_token=request.headers.get("Admission-Token"),
            buyer_id=_uid(request),
            **data.validated_data,
        )
        body = {
            "id": str(reservation.pk),
            "drop_id": reservation.drop_id,
            "sku_id": data.validated_data["sku_id"],
            "quantity": reservation.quantity,
            "status": reservation.status,
            "expires_at": reservation.expires_at,
            "order_id": None,
            "release_reason": "",
            "created_at": reservation.created_at,
        }
        return Response(body, status=status.HTTP_201_CREATED)


def _own_reservation(request: Request, pk: UUID) -> Reservation:
    reservation = selectors.buyer_reservations(buyer_id=_uid(request)).filter(pk=pk).first()
    if reservation is None:
        raise NotFound("Reservation not found.", details={"resource": "reservation"})
    return reservation


class ReservationDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["reservations"], responses={200: ReservationSerializer, **errors(401, 404)})
    def get(self, request: Request, pk: UUID) -> Response:
        release_expired_reservations(buyer_id=_uid(request), limit=100)
        return Response(ReservationSerializer(_own_reservation(request, pk)).data)


class ReservationCancelView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["reservations"],
        summary="Give a reservation back",
        request=None,
        responses={200: ReservationSerializer, **errors(401, 404, 409)},
    )
    def post(self, request: Request, pk: UUID) -> Response:
        cancel_reservation(reservation_id=pk, buyer_id=_uid(request))
        return Response(ReservationSerializer(_own_reservation(request, pk)).data)


class CheckoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["orders"],
        summary="Turn my live reservations (all, or the listed ones) into an order awaiting payment",
        description=(
            "An order with something to ship (a physical product, or a phygital one shipped with the "
            "purchase) needs `shipping_address`; without it the answer is 400 `shipping_address_required`. "
            "Digital-only orders need none. The address is stored on the order as a snapshot."
        ),
        request=CheckoutInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: OrderSerializer, **errors(400, 401, 404, 409, 422)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = place_order(
            buyer_id=_uid(request),
            reservation_ids=data.validated_data.get("reservation_ids"),
            shipping_address=data.validated_data.get("shipping_address"),
        )
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["orders"], responses={200: OrderSerializer(many=True), **errors(401)})
class OrderListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = OrderSerializer

    def get_queryset(self):
        return selectors.buyer_orders(buyer_id=_uid(self.request))


@extend_schema(tags=["orders"], responses={200: OrderSerializer, **errors(401, 404)})
class OrderDetailView(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = OrderSerializer

    def get_queryset(self):
        return selectors.buyer_orders(buyer_id=_uid(self.request))


class OrderCancelView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["orders"],
        summary="Cancel my order while it awaits payment (its stock is released)",
        request=CancelOrderInput,
        responses={200: OrderSerializer, **errors(400, 401, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = CancelOrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        cancel_order(order_id=pk, buyer_id=_uid(request), reason=data.validated_data["reason"])
        return Response(OrderSerializer(selectors.buyer_orders(buyer_id=_uid(request)).get(pk=pk)).data)


class MyMerchantsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["merchant"], responses={200: MembershipSerializer(many=True), **errors(401)})
    def get(self, request: Request) -> Response:
        rows = (
            MerchantMembership.objects.filter(user_id=_uid(request))
            .select_related("merchant")
            .order_by("merchant_id")
        )
        data = [
            {"merchant_id": m.merchant_id, "merchant_name": m.merchant.name, "role": m.role} for m in rows
        ]
        return Response(MembershipSerializer(data, many=True).data)
