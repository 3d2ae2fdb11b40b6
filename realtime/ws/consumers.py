"""Channels consumers of the live streams: `/ws/drops/<id>/`, `/ws/orders/<id>/`, `/ws/merchants/<id>/dashboard/`.

On connect a socket is authorised, accepted, joined to its stream in the process hub (live frames
queue from that moment), then sent a snapshot read from the database tagged with the stream's
head seq -- or, with `?last_seq=n`, just the frames it missed from the resume buffer (a snapshot
when the buffer no longer reaches back that far). After that the hub writes live frames to it.

These consumers have no channel of their own (`channel_layer_alias` names no layer): the hub's
process-wide subscription replaces one channel-layer subscription per socket.
"""

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from commerce.errors import NotFound
from monitoring.metrics import ws_connected
from realtime.ws import protocol, queue_frames, snapshots, store
from realtime.ws.auth import accepted_subprotocol, auth_error_message
from realtime.ws.dispatch import DirectDispatchMixin
from realtime.ws.errors import StreamNotFound, Unauthenticated, Unauthorised, WsError
from realtime.ws.hub import Subscriber, get_hub

log = logging.getLogger(__name__)

_CLOSE_CODES: dict[type[WsError], int] = {
    Unauthenticated: protocol.CLOSE_UNAUTHENTICATED,
    Unauthorised: protocol.CLOSE_FORBIDDEN,
    StreamNotFound: protocol.CLOSE_NOT_FOUND,
}


class LiveConsumer(DirectDispatchMixin, AsyncWebsocketConsumer):
    """Snapshot + resume + live frames for one stream; subclasses say which stream and who may watch."""

    channel_layer_alias = "__no_channel_per_socket__"
    sub: Subscriber | None = None

    # --- subclass hooks -----------------------------------------------------------------------
    async def authorize(self) -> str:
        """Return the stream name, or raise Unauthenticated / Unauthorised / StreamNotFound."""
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        """The stream's state from the database (sync; runs in a thread)."""
        raise NotImplementedError

    # --- lifecycle ------------------------------------------------------------------------------
    async def connect(self) -> None:
        try:
            if self.scope.get("auth_error"):
                raise Unauthenticated(auth_error_message(self.scope))
            stream = await self.authorize()
        except WsError as exc:
            await self._refuse(exc)
            return
        await self.accept(subprotocol=accepted_subprotocol(self.scope))
        self.sub = Subscriber(stream=stream, send=self.base_send, resync=self._resync)
        await get_hub().join(self.sub)
        ws_connected(+1)
        try:
            await self._catch_up(protocol.parse_last_seq(self.scope.get("query_string", b"")))
        except NotFound:
            await self._refuse(StreamNotFound("No such stream."), accepted=True)

    async def disconnect(self, code: int) -> None:
        if self.sub is not None:
            ws_connected(-1)
            await get_hub().leave(self.sub)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.sub is None or self.sub.closed:
            return
        try:
            message = protocol.parse_client_message(text_data, bytes_data)
        except WsError as exc:
            await self.send(
                text_data=protocol.error_frame(exc, seq=self.sub.last_sent, stream=self.sub.stream)
            )
            return
        if message.type == "ping":
            head = await store.head(self.sub.stream)
            pong = protocol.frame("pong", seq=self.sub.last_sent, stream=self.sub.stream, head=head)
            await self.send(text_data=protocol.encode(pong))
        elif message.type == "resume":
            self.sub.syncing = True
            await self._catch_up(message.last_seq)

    # --- snapshot and resume --------------------------------------------------------------------
    async def _refuse(self, exc: WsError, *, accepted: bool = False) -> None:
        """Accept then close with an application code, so the client can tell why (a 403 cannot)."""
        if not accepted:
            await self.accept(subprotocol=accepted_subprotocol(self.scope))
        stream = self.sub.stream if self.sub else ""
        await self.send(text_data=protocol.error_frame(exc, seq=0, stream=stream))
        await self.close(code=_CLOSE_CODES.get(type(exc), protocol.CLOSE_FORBIDDEN))

    async def _catch_up(self, last_seq: int | None) -> None:
        """Bring a syncing socket to the stream's head, then let the hub's queued frames through."""
        sub = self.sub
        assert sub is not None and sub.syncing
        if last_seq is not None:
            since = await store.since(sub.stream, last_seq)
            if since.covered:
                for _, text in since.frames:
                    await sub.send_text(text)
                sub.finish_sync(since.frames[-1][0] if since.frames else last_seq)
                return
        head, text = await get_hub().shared_snapshot(sub, self._load_snapshot)
        await sub.send_text(text)  # the same text for a burst of joiners: its frame is built once
        sub.finish_sync(head)

    async def _load_snapshot(self) -> tuple[int, str]:
        assert self.sub is not None
        # Head first, then the database: every frame above this head is at least as new as the read.
        head = await store.head(self.sub.stream)
        data = await database_sync_to_async(self.snapshot)()
        return head, protocol.encode(protocol.frame("snapshot", seq=head, stream=self.sub.stream, **data))

    async def _resync(self) -> None:
        """The hub lost track of this stream: send a fresh snapshot."""
        if self.sub is not None and not self.sub.closed and not self.sub.syncing:
            self.sub.syncing = True
            await self._catch_up(None)

    # --- helpers --------------------------------------------------------------------------------
    def _user(self) -> Any:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            raise Unauthenticated("Sign in, or pass an API token.")
        return user

    def _int_kwarg(self, name: str) -> int:
        return int(self.scope["url_route"]["kwargs"][name])


class DropConsumer(LiveConsumer):
    """Public: stock per SKU, drop state and countdown target of one drop (+ a signed-in buyer's
    place in its waiting room: `queue` frames, realtime/ws/queue_frames.py)."""

    queue_watcher: queue_frames.Watcher | None = None

    async def authorize(self) -> str:
        self.drop_id = self._int_kwarg("drop_id")
        return f"drop.{self.drop_id}"

    async def connect(self) -> None:
        await super().connect()
        user = self.scope.get("user")
        if self.sub is not None and not self.sub.closed and user is not None and user.is_authenticated:
            sub = self.sub
            self.queue_watcher = queue_frames.Watcher(
                user_id=user.pk, stream=sub.stream, send_text=lambda text: self.send(text_data=text),
                seq=lambda: sub.last_sent,
            )  # fmt: skip
            queue_frames.watch(self.queue_watcher, self.drop_id)

    async def disconnect(self, code: int) -> None:
        if self.queue_watcher is not None:
            queue_frames.unwatch(self.queue_watcher, self.drop_id)
        await super().disconnect(code)

    def snapshot(self) -> dict[str, Any]:
        return snapshots.drop_snapshot(drop_id=self.drop_id)


@database_sync_to_async
def _order_parties(order_id: int) -> tuple[int, int] | None:
    return snapshots.order_parties(order_id=order_id)


@database_sync_to_async
def _is_member(user_id: int, merchant_id: int) -> bool:
    from commerce.models import MerchantMembership

    return MerchantMembership.objects.filter(user_id=user_id, merchant_id=merchant_id).exists()


class OrderConsumer(LiveConsumer):
    """Only the order's buyer or staff of its merchant: status, payment and mint progress."""

    async def authorize(self) -> str:
        user = self._user()
        self.order_id = self._int_kwarg("order_id")
        parties = await _order_parties(self.order_id)
        # An order that does not exist is refused like someone else's: no existence leak.
        if parties is None or (parties[0] != user.pk and not await _is_member(user.pk, parties[1])):
            raise Unauthorised("Only the buyer or the merchant may watch this order.")
        return f"order.{self.order_id}"

    def snapshot(self) -> dict[str, Any]:
        return snapshots.order_snapshot(order_id=self.order_id)


class MerchantDashboardConsumer(LiveConsumer):
    """Merchant staff only: sales, revenue, reservations held and mints of the live drops."""

    async def authorize(self) -> str:
        user = self._user()
        self.merchant_id = self._int_kwarg("merchant_id")
        if not await _is_member(user.pk, self.merchant_id):
            raise Unauthorised("Only staff of this merchant may watch its dashboard.")
        return f"merchant.{self.merchant_id}"

    def snapshot(self) -> dict[str, Any]:
        return snapshots.merchant_dashboard(merchant_id=self.merchant_id)
