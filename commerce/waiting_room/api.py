"""Waiting-room endpoints: a buyer joins / reads their place; a merchant configures the room."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.api.docs import errors
from commerce.api.serializers import ErrorSerializer
from commerce.api.views_merchant import MerchantView
from commerce.errors import NotFound
from commerce.waiting_room import services as rooms
from commerce.waiting_room.edge import join_body, retry_after
from commerce.waiting_room.errors import WaitingRoomUnavailable
from commerce.waiting_room.models import RoomMode, WaitingRoom

_PAUSED = {
    503: OpenApiResponse(
        ErrorSerializer,
        description="`waiting_room_paused`: the queue's store does not answer; `Retry-After` says when to retry.",
    )
}


class QueuePlaceSerializer(serializers.Serializer):
    """A buyer's place in a drop's waiting room."""

    drop_id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=["lottery", "pending", "queued", "admitted", "none"],
        help_text="lottery: joined before the start, place drawn at the start; pending: joined while it "
        "was drawn; queued: waiting in line; admitted: reserve now with `admission_token`; none: not in.",
    )
    position = serializers.IntegerField(allow_null=True, help_text="1 = next to be admitted (queued only).")
    ticket = serializers.IntegerField(allow_null=True, help_text="Arrival number (queued only).")
    eta_seconds = serializers.IntegerField(
        allow_null=True, help_text="Estimate: position / admit_per_second."
    )
    admit_per_second = serializers.FloatField()
    rule = serializers.CharField()
    room = serializers.CharField(help_text="pre (before the start), drawing, open.")
    drop_state = serializers.CharField(help_text="The drop's state: stop waiting when sold_out or ended.")
    admission_token = serializers.CharField(
        required=False, help_text="Send as the `Admission-Token` header of POST /reservations/ (single use)."
    )
    admission_expires_at_ms = serializers.IntegerField(required=False)
    arrived_at_us = serializers.IntegerField(
        required=False,
        help_text="Join only: when this request reached the server (µs since the epoch), as the server saw it.",
    )
    rebuilding_until_ms = serializers.IntegerField(required=False)
    message = serializers.CharField(required=False)


class _PausedAware(APIView):
    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, WaitingRoomUnavailable):
            response["Retry-After"] = retry_after(exc)
        return response


class QueueView(_PausedAware):
    permission_classes = [IsAuthenticated]
    # Polled by every waiting buyer: JSON only, as the reserve endpoint (no negotiation over the
    # browsable API's renderer, no form parsers).
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    @extend_schema(
        tags=["waiting room"],
        summary="My place in the drop's waiting room (position, estimated wait, admission token)",
        responses={200: QueuePlaceSerializer, **errors(401, 403, 404, 409), **_PAUSED},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(rooms.queue_status(drop_id=pk, buyer_id=request.user.pk))  # type: ignore[arg-type]

    @extend_schema(
        tags=["waiting room"],
        summary="Join the drop's waiting room (idempotent: rejoining keeps the place)",
        request=None,
        responses={200: QueuePlaceSerializer, **errors(401, 403, 404, 409), **_PAUSED},
    )
    def post(self, request: Request, pk: int) -> Response:
        # Arrival as stamped by the WSGI entry (config/wsgi.py) before Django's handling.
        return Response(join_body(request.META, drop_id=pk, buyer_id=request.user.pk))  # type: ignore[arg-type]


class RoomInput(serializers.Serializer):
    mode = serializers.ChoiceField(choices=RoomMode.choices)
    admit_per_second = serializers.FloatField(
        required=False, allow_null=True, min_value=0.001, max_value=100_000,
        help_text="Buyers admitted per second; null: the server default (COMMERCE_WAITING_ROOM_ADMIT_PER_SECOND).",
    )  # fmt: skip


class RoomSerializer(serializers.Serializer):
    drop_id = serializers.IntegerField()
    mode = serializers.CharField()
    admit_per_second = serializers.FloatField(allow_null=True)
    queued = serializers.BooleanField(help_text="Whether reserving needs an admission token now.")


def _room_body(drop_id: int, room: WaitingRoom | None) -> dict[str, Any]:
    config = rooms.load_config(drop_id=drop_id)
    return {
        "drop_id": drop_id,
        "mode": room.mode if room else RoomMode.AUTO,
        "admit_per_second": room.admit_per_second if room else None,
        "queued": bool(config and config.queued),
    }


class MerchantRoomView(MerchantView):
    @extend_schema(tags=["merchant"], responses={200: RoomSerializer, **errors(401, 404)})
    def get(self, request: Request, merchant_id: int, pk: int) -> Response:
        if not self.merchant.drops.filter(pk=pk).exists():
            raise NotFound("Drop not found.", details={"resource": "drop", "id": pk})
        room = WaitingRoom.objects.filter(drop_id=pk).first()
        return Response(_room_body(pk, room))

    @extend_schema(
        tags=["merchant"],
        summary="Turn the drop's waiting room on / off / auto and set its admission rate",
        request=RoomInput,
        responses={200: RoomSerializer, **errors(400, 401, 404, 422)},
    )
    def put(self, request: Request, merchant_id: int, pk: int) -> Response:
        data = self.valid(RoomInput)
        room = rooms.configure(
            drop_id=pk,
            merchant_id=self.merchant.pk,
            mode=data["mode"],
            admit_per_second=data.get("admit_per_second"),
        )
        return Response(_room_body(pk, room))
