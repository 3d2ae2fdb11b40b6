"""Show API: public reads (snapshot, venue feed, messages), viewer chat/checkout, host controls."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.api.docs import errors
from commerce.api.views_merchant import MerchantView
from commerce.services.orders import place_order
from commerce.shows import selectors
from commerce.shows.api import inputs
from commerce.shows.api.docs import (
    ChatMessageDoc,
    PostedMessageDoc,
    ShowHeaderDoc,
    ShowOrderDoc,
    ShowSnapshotDoc,
    VenueFeedDoc,
)
from commerce.shows.models import Show
from commerce.shows.services import chat, flash, lifecycle, pins


def _valid(serializer: type, request: Request) -> dict[str, Any]:
    data = serializer(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


def _show_row(show: Show) -> dict[str, Any]:
    return selectors.show_header(show)


class ShowListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["shows"],
        summary="Live and upcoming shows",
        operation_id="v1_shows_list",
        responses={200: ShowHeaderDoc(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response([_show_row(s) for s in selectors.public_shows()[:100]])


class ShowDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["shows"],
        summary="A show as a late joiner sees it",
        responses={200: ShowSnapshotDoc, **errors(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(selectors.show_snapshot(show_id=pk))


class VenueFeedView(APIView):
    """Compact state for 3D venue / game clients; live updates on /ws/shows/<id>/venue/."""

    permission_classes = [AllowAny]

    @extend_schema(
        tags=["shows"],
        summary="Venue feed (state, pinned product + 3D asset, flash drop stock)",
        responses={200: VenueFeedDoc, **errors(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(selectors.venue_feed(show_id=pk))


class MessagesView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["shows"],
        summary="The last 50 chat messages",
        responses={200: ChatMessageDoc(many=True), **errors(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        selectors.get_show(show_id=pk)
        return Response(selectors.recent_messages(show_id=pk))

    @extend_schema(tags=["shows"], summary="Post a chat message (same rules as on the socket)",
                   request=inputs.MessageInput,
                   responses={201: PostedMessageDoc, **errors(400, 401, 403, 404, 409, 429)})  # fmt: skip
    def post(self, request: Request, pk: int) -> Response:
        data = _valid(inputs.MessageInput, request)
        user = request.user if request.user.is_authenticated else None
        message = chat.post_message(show_id=pk, user=user, text=data["text"])
        return Response({"id": message.pk, "text": message.text}, status=status.HTTP_201_CREATED)


class ShowCheckoutView(APIView):
    """Buy in place: turn one reservation into an order awaiting payment, without leaving the show."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["shows"],
        description="An item that ships needs `shipping_address` (else 400 `shipping_address_required`).",
        request=inputs.ShowCheckoutInput,
        responses={201: ShowOrderDoc, **errors(400, 401, 404, 409, 422)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = _valid(inputs.ShowCheckoutInput, request)
        selectors.get_show(show_id=pk)
        order = place_order(
            buyer_id=request.user.pk,  # type: ignore[arg-type]
            reservation_ids=[data["reservation_id"]],
            shipping_address=data.get("shipping_address"),
        )
        return Response(
            {"order_id": order.pk, "status": order.status, "total": order.total, "currency": order.currency},
            status=status.HTTP_201_CREATED,
        )


# --- host controls --------------------------------------------------------------------------------
class HostShowsView(MerchantView):
    @extend_schema(
        tags=["shows-host"],
        summary="The merchant's shows",
        responses={200: ShowHeaderDoc(many=True), **errors(401, 404)},
    )
    def get(self, request: Request, merchant_id: int) -> Response:
        rows = Show.objects.filter(merchant_id=self.merchant.pk).select_related("merchant")[:200]
        return Response([_show_row(s) for s in rows])

    @extend_schema(
        tags=["shows-host"],
        request=inputs.ShowInput,
        responses={201: ShowHeaderDoc, **errors(400, 401, 404, 422)},
    )
    def post(self, request: Request, merchant_id: int) -> Response:
        show = lifecycle.create_show(merchant_id=self.merchant.pk, **_valid(inputs.ShowInput, request))
        return Response(_show_row(selectors.get_show(show_id=show.pk)), status=status.HTTP_201_CREATED)


class HostActionView(MerchantView):
    """POST .../shows/<pk>/<action>/ for live, end, pin, unpin, flash-drops, mutes, messages/<id>/delete."""

    @extend_schema(
        tags=["shows-host"],
        request=dict,
        responses={
            200: ShowSnapshotDoc,
            201: OpenApiResponse(dict, description="flash-drops: the new flash drop and its stock"),
            **errors(400, 401, 403, 404, 409, 422),
        },
    )
    def post(self, request: Request, merchant_id: int, pk: int, action: str, **kwargs: Any) -> Response:
        m, uid = self.merchant.pk, request.user.pk
        assert isinstance(uid, int)
        if action == "live":
            lifecycle.go_live(show_id=pk, merchant_id=m)
        elif action == "end":
            lifecycle.end_show(show_id=pk, merchant_id=m)
        elif action == "pin":
            pins.pin_product(show_id=pk, merchant_id=m, **_valid(inputs.PinInput, request))
        elif action == "unpin":
            pins.unpin_product(show_id=pk, merchant_id=m)
        elif action == "flash-drops":
            spec = flash.FlashDropSpec(**_valid(inputs.FlashDropInput, request))
            link = flash.launch_flash_drop(show_id=pk, merchant_id=m, spec=spec)
            return Response(selectors.flash_drop_state(drop_id=link.drop_id), status=status.HTTP_201_CREATED)
        elif action == "mute":
            chat.mute_user(show_id=pk, moderator_id=uid, **_valid(inputs.MuteInput, request))
        elif action == "unmute":
            chat.unmute_user(
                show_id=pk, moderator_id=uid, user_id=_valid(inputs.MuteInput, request)["user_id"]
            )
        elif action == "delete-message":
            chat.delete_message(show_id=pk, message_id=kwargs["message_id"], moderator_id=uid)
        selectors.get_show(show_id=pk)  # the merchant's own show (services checked it too)
        return Response(selectors.show_snapshot(show_id=pk))
