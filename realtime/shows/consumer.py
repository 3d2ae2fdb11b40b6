"""`/ws/shows/<id>/` (viewers and hosts) and `/ws/shows/<id>/venue/` (3D venue / game clients).

One socket carries two streams, each with its own strictly increasing `seq`:
- `show.<id>`: state, pins, flash drop launches, chat and moderation (pushed on commit, numbered by
  a Redis counter, realtime/shows/publish.py);
- `drop.<id>` of the current flash drop: the projector's coalesced `stock` and `drop_state` frames,
  exactly what `/ws/drops/<id>/` carries. When a `flash_drop` frame goes by, the socket follows the
  new drop by itself (it joins that stream in the process hub and sends its snapshot first).
Plus seq-less `presence`, `reactions`, `you`, `ack`, `pong` and `error` frames.

Both streams go through the per-process fan-out hub (realtime/ws/hub.py): one channel-layer
subscription per stream per process, not per socket.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from commerce.shows import selectors
from commerce.shows.services import chat
from commerce.shows.services.common import is_host
from config.errors import ApplicationError
from realtime.shows import auction_socket
from realtime.shows import client_messages as messages
from realtime.shows.auction_batch import AuctionCoalescer
from realtime.shows.chat_batch import ChatBatcher
from realtime.shows.presence import get_presence
from realtime.shows.publish import stream_of
from realtime.ws import protocol, store
from realtime.ws.auth import accepted_subprotocol, auth_error_message
from realtime.ws.dispatch import DirectDispatchMixin
from realtime.ws.hub import Hub, Slot, Subscriber, get_hub
from realtime.ws.protocol import StreamFrame

log = logging.getLogger(__name__)

_SHOW_PREFIX = "show."
REACTIONS_PER_SECOND = 5


@dataclass(eq=False)
class ShowSubscriber(Subscriber):
    """A show-stream socket: venue sockets skip chat; every socket follows new flash drops."""

    venue: bool = False
    consumer: "ShowConsumer | None" = None

    def deliver(self, frame: StreamFrame, slot: Slot | None = None) -> None:
        if self.venue and frame.kind in protocol.CHAT_KINDS:
            return
        before = self.last_sent
        super().deliver(frame, slot)
        if self.consumer is not None and self.last_sent > before and frame.follow_drop is not None:
            self.consumer.flash_drop_seen(frame.follow_drop)


# A show's merchant never changes: one database hop per show per process, not one per connect
# (a burst of viewers arriving would queue behind each other on the thread-sensitive executor).
_merchant_of_show: dict[int, int] = {}


async def _show_merchant(show_id: int) -> int | None:
    merchant_id = _merchant_of_show.get(show_id)
    if merchant_id is None:
        merchant_id = await database_sync_to_async(_read_show_merchant)(show_id)
        if merchant_id is not None:
            _merchant_of_show[show_id] = merchant_id
    return merchant_id


def _read_show_merchant(show_id: int) -> int | None:
    from commerce.shows.models import Show

    return Show.objects.filter(pk=show_id).values_list("merchant_id", flat=True).first()


def _hub() -> Hub:
    """The process hub, with show streams' chat batched (once per process)."""
    hub = get_hub()
    if _SHOW_PREFIX not in hub.batchers:
        chat = ChatBatcher(
            settings.SHOWS_CHAT_BATCH_MS / 1000,
            hub.fanout,
            max_window_s=settings.SHOWS_CHAT_MAX_BATCH_MS / 1000,
            cost_factor=settings.SHOWS_CHAT_COST_FACTOR,
        )
        window, widest = settings.AUCTION_FRAME_WINDOW_MS / 1000, settings.AUCTION_FRAME_MAX_WINDOW_MS / 1000
        hub.set_batcher(
            _SHOW_PREFIX, AuctionCoalescer(chat, window, widest, settings.AUCTION_FRAME_COST_FACTOR)
        )
    return hub


class ShowConsumer(DirectDispatchMixin, AsyncWebsocketConsumer):
    channel_layer_alias = "__no_channel_per_socket__"  # the hub subscribes once per process
    venue = False
    show_sub: ShowSubscriber | None = None
    drop_sub: Subscriber | None = None
    bidder_sub: Subscriber | None = None  # "you were outbid" frames for this viewer (auction_socket)
    _react_window = 0.0
    _reacts = 0

    # --- lifecycle ------------------------------------------------------------------------------
    async def connect(self) -> None:
        self.show_id = int(self.scope["url_route"]["kwargs"]["show_id"])
        merchant_id = await _show_merchant(self.show_id)
        await self.accept(subprotocol=accepted_subprotocol(self.scope))
        if self.scope.get("auth_error"):
            await self._close_with(
                "unauthenticated", auth_error_message(self.scope), protocol.CLOSE_UNAUTHENTICATED
            )
            return
        if merchant_id is None:
            await self._close_with("not_found", "No such show.", protocol.CLOSE_NOT_FOUND)
            return
        user = self.scope.get("user")
        self.user = user if user is not None and user.is_authenticated else None
        self.is_host = bool(self.user) and await database_sync_to_async(is_host)(
            user_id=self.user.pk if self.user else None, merchant_id=merchant_id
        )
        self._drop_lock = asyncio.Lock()
        self._leaving: list[Subscriber] = []
        self.show_sub = ShowSubscriber(stream=stream_of(self.show_id), send=self.base_send,
                                       resync=self._resync_show, venue=self.venue, consumer=self)  # fmt: skip
        await _hub().join(self.show_sub)
        self.bidder_sub = await auction_socket.join(_hub(), self)
        if not self.venue:
            get_presence().add(self.show_id, self.show_sub)
            await self._send_you()
        await self._show_snapshot()

    async def disconnect(self, code: int) -> None:
        hub = _hub()
        if self.show_sub is not None:
            if not self.venue:
                get_presence().remove(self.show_id, self.show_sub)
            await hub.leave(self.show_sub)
        if self.drop_sub is not None:
            await hub.leave(self.drop_sub)
        if self.bidder_sub is not None:
            await hub.leave(self.bidder_sub)
        for sub in getattr(self, "_leaving", ()):
            await hub.leave(sub)

    async def _close_with(self, code: str, message: str, close_code: int) -> None:
        await self.send(
            text_data=protocol.encode({"type": "error", "code": code, "message": message, "details": {}})
        )
        await self.close(code=close_code)

    # --- snapshots --------------------------------------------------------------------------------
    async def _send_you(self) -> None:
        muted = False
        if self.user is not None:
            muted = await database_sync_to_async(_is_muted)(self.show_id, self.user.pk)
        you = {"type": "you", "stream": stream_of(self.show_id), "signed_in": self.user is not None,
               "user_id": self.user.pk if self.user else None,
               "username": self.user.get_username() if self.user else None,
               "is_host": self.is_host, "muted": muted}  # fmt: skip
        await self.send(text_data=protocol.encode(you))

    async def _load_show(self) -> tuple[int, str, int | None]:
        """(head, snapshot text, the flash drop's id): the id rides along so no joiner parses the text."""
        stream = stream_of(self.show_id)
        head = await store.head(stream)  # head before the read: later frames are at least as new
        if self.venue:
            data = await database_sync_to_async(selectors.venue_feed)(show_id=self.show_id)
        else:
            data = await database_sync_to_async(selectors.show_snapshot)(show_id=self.show_id)
            data["viewers"] = get_presence().count(self.show_id)
        drop_id = (data.get("flash_drop") or {}).get("drop_id")
        text = protocol.encode(protocol.frame("snapshot", seq=head, stream=stream, **data))
        return head, text, int(drop_id) if drop_id else None

    async def _show_snapshot(self) -> None:
        sub = self.show_sub
        assert sub is not None
        kind = "venue" if self.venue else ""  # a venue feed is another snapshot of the same stream
        head, text, drop_id = await _hub().shared_snapshot(sub, self._load_show, kind)
        await sub.send_text(text)  # the same text for a burst of joiners: its frame is built once
        sub.finish_sync(head)
        if drop_id:
            await self.follow_drop(drop_id)

    async def _resync_show(self) -> None:
        if self.show_sub is not None and not self.show_sub.closed and not self.show_sub.syncing:
            self.show_sub.syncing = True
            await self._show_snapshot()

    # --- the flash drop's stream -------------------------------------------------------------------
    def flash_drop_seen(self, drop_id: int) -> None:
        """A `flash_drop` frame was written to this socket: follow that drop's stock stream.

        Runs inside the hub's fan-out of that frame, for every local viewer in the same loop turn:
        each socket is attached to the drop's stream right here, synchronously, so the snapshot
        the first of them loads afterwards is shared by all (one database read per process at a
        flash launch, not one per viewer).
        """
        sub = self._switch_drop(drop_id)
        if sub is not None:
            task = asyncio.ensure_future(self._complete_follow(sub, drop_id))
            task.add_done_callback(_log_failure)

    def _switch_drop(self, drop_id: int) -> Subscriber | None:
        """Attach this socket to `drop.<id>` (detaching the previous flash drop); None if already there."""
        stream = f"drop.{drop_id}"
        if self.drop_sub is not None and self.drop_sub.stream == stream:
            return None
        if self.show_sub is None or self.show_sub.closed:
            return None
        old = self.drop_sub
        if old is not None:
            old.closed = True  # stops writing now; leaving the group happens in _complete_follow
            self._leaving.append(old)
        sub = self.drop_sub = Subscriber(stream=stream, send=self.base_send, resync=self._resync_drop)
        _hub().attach(sub)
        return sub

    async def _complete_follow(self, sub: Subscriber, drop_id: int) -> None:
        hub = _hub()
        async with self._drop_lock:
            while self._leaving:
                await hub.leave(self._leaving.pop())
            if sub.closed or self.drop_sub is not sub:
                return  # a newer flash drop replaced it meanwhile
            await hub.join(sub)
            await self._drop_snapshot(sub, drop_id)

    async def follow_drop(self, drop_id: int) -> None:
        """Join `drop.<id>` in the hub (leaving the previous flash drop) and send its snapshot."""
        sub = self._switch_drop(drop_id)
        if sub is not None:
            await self._complete_follow(sub, drop_id)

    async def _drop_snapshot(self, sub: Subscriber, drop_id: int) -> None:
        async def load() -> tuple[int, str]:
            head = await store.head(sub.stream)
            data = await database_sync_to_async(selectors.flash_drop_state)(drop_id=drop_id)
            return head, protocol.encode(
                protocol.frame("snapshot", seq=head, stream=sub.stream, flash_drop=data)
            )

        head, text = await _hub().shared_snapshot(sub, load)
        await sub.send_text(text)
        sub.finish_sync(head)

    async def _resync_drop(self) -> None:
        sub = self.drop_sub
        if sub is not None and not sub.closed and not sub.syncing:
            sub.syncing = True
            await self._drop_snapshot(sub, int(sub.stream.split(".", 1)[1]))

    # --- client messages ----------------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.show_sub is None or self.show_sub.closed:
            return
        ref = None
        try:
            message = messages.parse(text_data, bytes_data, venue=self.venue)
            ref = message.ref
            await self._handle(message)
        except ApplicationError as exc:
            await self._error(exc, ref)

    async def _handle(self, message: messages.ClientMessage) -> None:
        kind = message.type
        if kind == "ping":
            head = await store.head(stream_of(self.show_id))
            await self._reply({"type": "pong", "head": head})
        elif kind == "resume":
            await self._resync_show()
        elif kind == "chat":
            posted = await database_sync_to_async(chat.post_message)(
                show_id=self.show_id, user=self.user, text=message.fields["text"]
            )
            await self._reply({"type": "ack", "ref": message.ref, "message_id": posted.pk})
        elif kind == "react":
            # A tap is worth little: past the per-socket allowance it is dropped without a word.
            now = time.monotonic()
            if now - self._react_window >= 1.0:
                self._react_window, self._reacts = now, 0
            self._reacts += 1
            if self._reacts <= REACTIONS_PER_SECOND:
                await get_presence().react(self.show_id, message.fields["reaction"])
        elif kind in ("bid", "giveaway_enter"):
            await self._reply(await auction_socket.handle(self, message))
        elif kind in ("delete", "mute", "unmute"):
            await self._moderate(message)

    async def _moderate(self, message: messages.ClientMessage) -> None:
        moderator = self.user.pk if self.user else 0
        f = message.fields
        if message.type == "delete":
            await database_sync_to_async(chat.delete_message)(
                show_id=self.show_id, message_id=f["message_id"], moderator_id=moderator
            )
        elif message.type == "mute":
            await database_sync_to_async(chat.mute_user)(
                show_id=self.show_id, user_id=f["user_id"], moderator_id=moderator, reason=f.get("reason", "")
            )
        else:
            await database_sync_to_async(chat.unmute_user)(
                show_id=self.show_id, user_id=f["user_id"], moderator_id=moderator
            )
        await self._reply({"type": "ack", "ref": message.ref})

    async def _reply(self, body: dict[str, Any]) -> None:
        await self.send(text_data=protocol.encode({**body, "stream": stream_of(self.show_id)}))

    async def _error(self, exc: ApplicationError, ref: str | None) -> None:
        await self._reply({"type": "error", "code": exc.code, "message": exc.message,
                           "details": exc.details, "ref": ref})  # fmt: skip


class VenueConsumer(ShowConsumer):
    """Compact, read-only feed for metaverse clients: no chat, no presence (see commerce/shows/VENUE.md)."""

    venue = True


def _is_muted(show_id: int, user_id: int) -> bool:
    from commerce.shows.models import ShowMute

    return ShowMute.objects.filter(show_id=show_id, user_id=user_id).exists()


def _log_failure(task: "asyncio.Future[None]") -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("shows: following a flash drop failed", exc_info=task.exception())
