"""The per-process fan-out hub: one channel-layer subscription per stream per ASGI process.

Plain Channels gives every socket its own channel and puts every socket in the group, so a
`group_send` to a drop with N watchers costs N queue hand-offs and consumer dispatches (far
too slow at thousands of sockets: bench/README.md). Here the *process* joins the group `drop.<id>` once
with a single hub channel; the projector's `group_send` reaches each process once with a frame
that is already JSON-encoded, and the hub writes that text to each local socket's ASGI `send`.

Per socket the hub keeps `last_sent`: a frame whose seq is not above it is skipped, so frames
replayed after a projector restart or overlapping a snapshot never reach a client twice, and seq
strictly increases on every socket. A socket still taking its snapshot (`syncing`) gets live
frames queued and flushed after the snapshot. A socket whose send blocks (full TCP buffer) does
not stall the others: its send finishes in a task and later frames queue behind it, up to
`WS_SLOW_SOCKET_BACKLOG`, after which it is closed so the client reconnects and resumes.
Frames that only restate a current value (coalesced `stock`, `presence`) carry a `Slot`: one
queued behind a blocked send is replaced by a newer frame of the same slot (last value wins),
so a slow reader gets the latest counters, not every intermediate one, and is rarely cut off.

A heal loop compares each stream's head in Redis with the last seq the hub saw; if the hub stays
behind (a pub/sub message lost in a Redis reconnect, a projector killed between buffering and
publishing) it replays the missing frames from the resume buffer, or re-snapshots its sockets.
"""

import asyncio
import collections
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from monitoring.metrics import count_ws_frames, count_ws_resync
from realtime.ws import store
from realtime.ws.protocol import StreamFrame, read_layer_message, read_stored_frame
from realtime.ws.wire import RawSocket, raw_socket

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]
CLOSE_TOO_SLOW = 4408

# What a replaceable frame restates: (what, of which parts). A newer frame of the same `what`
# that covers at least the same parts makes the older one worthless (e.g. ("stock:drop.7", {sku ids})).
Slot = tuple[str, frozenset[int]]


class Batcher(Protocol):
    """Holds some frames of a stream back and sends them later, combined, through `Hub.fanout`."""

    def offer(self, frame: StreamFrame) -> None: ...

    def forget(self, stream: str) -> None: ...


# Strong references to fire-and-forget tasks (asyncio keeps only weak ones).
_background: set["asyncio.Future[Any]"] = set()


def _spawn(aw: Awaitable[Any]) -> None:
    task = asyncio.ensure_future(aw)
    _background.add(task)
    task.add_done_callback(_background.discard)


@dataclass(eq=False)
class Subscriber:
    """One socket as the hub sees it."""

    stream: str
    send: Send
    resync: Callable[[], Awaitable[None]]
    last_sent: int = 0
    syncing: bool = True
    pending: list[StreamFrame] = field(default_factory=list)
    inflight: "asyncio.Task[None] | None" = None
    backlog: list[tuple[str, Slot | None]] = field(default_factory=list)
    replaced: int = 0  # queued frames dropped for a newer one of the same slot
    raw: RawSocket | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.raw = raw_socket(self.send)

    closed: bool = False
    joined_ns: int = field(default_factory=time.monotonic_ns)

    def deliver(self, frame: StreamFrame, slot: Slot | None = None) -> None:
        """Hand one frame to this socket (never blocks the caller); `slot` is `slot_of(frame)`,
        worked out once per fan-out by the caller rather than once per socket."""
        if self.closed:
            return
        if self.syncing:
            self.pending.append(frame)
            return
        if frame.seq <= self.last_sent:
            return
        self.last_sent = frame.seq
        self._write(frame.text, slot)

    def _write(self, text: str, slot: Slot | None = None) -> None:
        if self.inflight is not None:
            if slot is not None and self.backlog and _supersedes(slot, self.backlog[-1][1]):
                # Only the newest queued frame may go: anything older would change the order.
                self.backlog[-1] = (text, slot)
                self.replaced += 1
            elif len(self.backlog) >= settings.WS_SLOW_SOCKET_BACKLOG:
                self._give_up()
            else:
                self.backlog.append((text, slot))
            return
        if self.raw is not None and self.raw.write(text):
            return
        coro = self.send({"type": "websocket.send", "text": text})
        outcome = _run_eagerly(coro)
        if outcome is _FAILED:
            self.closed = True  # the client went away; its consumer cleans up on disconnect
        elif outcome is not _DONE:
            # The send had to wait (transport paused): let it finish on its own.
            self.inflight = asyncio.ensure_future(self._drain(_Resumed(coro, outcome)))

    async def _drain(self, first: "_Resumed") -> None:
        try:
            await first
            while self.backlog and not self.closed:
                await self.send({"type": "websocket.send", "text": self.backlog.pop(0)[0]})
        except Exception:  # the client went away; its consumer cleans up on disconnect
            self.closed = True
        finally:
            self.inflight = None

    def _give_up(self) -> None:
        self.closed = True
        self.backlog.clear()
        log.info("ws: closing a socket too slow to keep up on %s", self.stream)
        _spawn(_quiet(self.send({"type": "websocket.close", "code": CLOSE_TOO_SLOW})))

    async def send_text(self, text: str) -> None:
        """Write one frame outside the fan-out (a snapshot, a replay): straight to the transport when
        that is what the ASGI send would do and nothing is queued, else through the ASGI send."""
        if self.inflight is None and not self.backlog and self.raw is not None and self.raw.write(text):
            return
        await self.send({"type": "websocket.send", "text": text})

    def finish_sync(self, seq: int) -> None:
        """The snapshot/replay up to `seq` was sent: go live, flushing frames queued meanwhile."""
        self.last_sent = max(self.last_sent, seq) if not self.syncing else seq
        self.syncing = False
        queued, self.pending = sorted(self.pending, key=lambda f: f.seq), []
        for frame in queued:
            self.deliver(frame, slot_of(frame))


def _supersedes(new: Slot, queued: Slot | None) -> bool:
    return queued is not None and new[0] == queued[0] and queued[1] <= new[1]


def slot_of(frame: StreamFrame) -> Slot | None:
    """The slot of a coalesced `stock` frame (its SKUs' counters are absolute); None for others."""
    if frame.skus is None:
        return None
    return ("stock:" + frame.stream, frame.skus)


_DONE = object()
_FAILED = object()


def _run_eagerly(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run an ASGI `send` until it first suspends: _DONE, _FAILED, or what it yielded (a future).

    uvicorn's send only suspends when the transport is paused, so nearly every send completes
    synchronously here, without the cost of a task per socket per frame. A coroutine that did
    suspend is finished by `Subscriber._drain` through `_Resumed`.
    """
    try:
        return coro.send(None)
    except StopIteration:
        return _DONE
    except Exception:
        return _FAILED


class _Resumed:
    """Awaitable that continues a coroutine `_run_eagerly` started, exactly as a Task would have."""

    def __init__(self, coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
        self.coro = coro
        self.yielded = yielded

    def __await__(self) -> Any:
        yielded = self.yielded
        while True:
            try:
                sent = yield yielded
            except BaseException as exc:
                yielded = self.coro.throw(exc)
            else:
                try:
                    yielded = self.coro.send(sent)
                except StopIteration as stop:
                    return stop.value


async def _quiet(aw: Awaitable[Any]) -> None:
    try:
        await aw
    except Exception:
        log.debug("ws: close of a slow socket failed", exc_info=True)


class Hub:
    """Fan-out for the sockets of one process (one instance per event loop)."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.streams: dict[str, set[Subscriber]] = {}
        self.last_seq: dict[str, int] = {}
        self._joining: dict[str, asyncio.Future[None]] = {}
        self._snapshots: dict[tuple[str, str], tuple[int, asyncio.Future[Any]]] = {}
        # The last snapshot loaded per stream (load start, load end, result) and the frames routed
        # lately: a joiner within WS_SNAPSHOT_REUSE_MS of the load's end takes that snapshot plus
        # the frames after its head instead of a database read of its own.
        self._reusable: dict[tuple[str, str], tuple[float, float, Any]] = {}
        self._recent: dict[str, collections.deque[StreamFrame]] = {}
        self._evicted: dict[str, float] = {}  # when a stream's newest frame fell out of `_recent`
        self._behind: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._start_lock = asyncio.Lock()
        self.batchers: dict[str, Batcher] = {}
        # Counter-numbered streams: frames that arrived after a gap, while it is being filled.
        self._held: dict[str, dict[int, StreamFrame]] = {}

    async def _start(self) -> None:
        async with self._start_lock:
            if self.channel is not None:
                return
            if self.layer is None:
                raise RuntimeError("CHANNEL_LAYERS is not configured; the live hub needs it")
            self.channel = await self.layer.new_channel("ws.hub.")
            self._tasks = [
                asyncio.ensure_future(self._receive_loop()),
                asyncio.ensure_future(self._heal_loop()),
            ]

    def attach(self, sub: Subscriber) -> None:
        """Count a socket (syncing) as a member of its stream now; `join` completes the subscription.

        Synchronous so a frame handler can attach many sockets in one go: they then share one
        snapshot (`shared_snapshot` shares loads that began after a socket attached).
        """
        sub.joined_ns = time.monotonic_ns()
        self.streams.setdefault(sub.stream, set()).add(sub)

    async def join(self, sub: Subscriber) -> None:
        """Subscribe a socket (syncing) to its stream; returns once the process receives that stream."""
        await self._start()
        assert self.layer is not None and self.channel is not None
        stream = sub.stream
        members = self.streams.setdefault(stream, set())
        if sub not in members:
            self.attach(sub)
        ready = self._joining.get(stream)
        if ready is None:
            ready = asyncio.get_running_loop().create_future()
            self._joining[stream] = ready
            try:
                await self.layer.group_add(store.group_name(stream), self.channel)
                self.last_seq.setdefault(stream, await store.head(stream))
                ready.set_result(None)
            except BaseException as exc:
                self._joining.pop(stream, None)
                ready.set_exception(exc)
                raise
        await asyncio.shield(ready)

    async def leave(self, sub: Subscriber) -> None:
        """Unsubscribe a socket; the process leaves the group with its last local socket."""
        sub.closed = True
        members = self.streams.get(sub.stream)
        if members is None:
            return
        members.discard(sub)
        if not members and sub.stream in self._joining and self._joining[sub.stream].done():
            del self.streams[sub.stream]
            del self._joining[sub.stream]
            self.last_seq.pop(sub.stream, None)
            self._behind.pop(sub.stream, None)
            self._held.pop(sub.stream, None)
            self._forget_snapshot(sub.stream)
            for prefix, batcher in self.batchers.items():
                if sub.stream.startswith(prefix):
                    batcher.forget(sub.stream)
            assert self.layer is not None and self.channel is not None
            await self.layer.group_discard(store.group_name(sub.stream), self.channel)

    async def shared_snapshot(
        self, sub: Subscriber, load: Callable[[], Awaitable[Any]], kind: str = ""
    ) -> Any:
        """Run `load` or share one already in flight that began after `sub` joined (so it is as fresh),
        or reuse one loaded less than `WS_SNAPSHOT_REUSE_MS` ago. `load` returns a tuple whose first
        item is the stream's head seq the snapshot reflects (read before the data). Sockets of one
        stream with different snapshots (a show's viewers and its venue clients) pass their `kind`.

        A burst of connects to one drop then costs one database read, not one per socket. A reused
        snapshot is older than the socket, so the frames the hub routed after its head are queued
        on the socket (`pending`, flushed by `finish_sync` after the snapshot): the socket ends up
        exactly where a fresh snapshot would have put it. The hub has seen every one of those
        frames: it was in the stream's group before the snapshot read the head, and it keeps the
        frames routed since (`_recent`, as long as none routed since the load began was evicted).
        """
        stream = sub.stream
        key = (stream, kind)
        reusable = self._reusable.get(key)
        if (
            reusable is not None
            and time.monotonic() - reusable[1] <= _reuse_window()
            and self._evicted.get(stream, float("-inf")) < reusable[0]
        ):
            head = int(reusable[2][0])
            sub.pending.extend(f for f in self._recent.get(stream, ()) if f.seq > head)
            return reusable[2]
        current = self._snapshots.get(key)
        if current is not None and current[0] >= sub.joined_ns and not current[1].done():
            return await asyncio.shield(current[1])
        started = time.monotonic()
        future: asyncio.Future[Any] = asyncio.ensure_future(load())
        self._snapshots[key] = (time.monotonic_ns(), future)
        try:
            result = await asyncio.shield(future)
        finally:
            if self._snapshots.get(key, (0, None))[1] is future:
                del self._snapshots[key]
        if (
            _reuse_window() > 0
            and stream in self.streams
            and (key not in self._reusable or self._reusable[key][0] < started)
        ):
            self._reusable[key] = (started, time.monotonic(), result)
        return result

    def _forget_snapshot(self, stream: str) -> None:
        for key in [k for k in self._reusable if k[0] == stream]:
            del self._reusable[key]
        self._recent.pop(stream, None)
        self._evicted.pop(stream, None)

    def _remember(self, frame: StreamFrame) -> None:
        """Keep a routed frame for joiners that reuse a snapshot (the last `_RECENT_FRAMES`)."""
        if _reuse_window() <= 0:
            return
        recent = self._recent.get(frame.stream)
        if recent is None:
            recent = self._recent[frame.stream] = collections.deque()
        elif len(recent) >= _RECENT_FRAMES:
            recent.popleft()
            self._evicted[frame.stream] = time.monotonic()
        recent.append(frame)

    def set_batcher(self, prefix: str, batcher: Batcher) -> None:
        """Route frames of streams starting with `prefix` through `batcher` (which calls `fanout`)."""
        self.batchers[prefix] = batcher

    def dispatch(self, frame: StreamFrame) -> None:
        """Deliver a frame to every local socket of its stream, in seq order on counter-numbered streams."""
        if frame.stream.startswith(store.COUNTER_STREAM_PREFIXES):
            self._in_order(frame)
        else:
            self._route(frame)

    def _in_order(self, frame: StreamFrame) -> None:
        """A counter-numbered stream: frames go out as seen + 1, seen + 2, ... and each once.

        Several processes publish a show's frames: one can number N, another N+1 and publish
        first. Frame N is already in the resume buffer then (numbered and buffered in one atomic
        script), so a gap is filled from there at once rather than waited for; frames arriving
        meanwhile are held, and N coming through pub/sub later is a duplicate.
        """
        stream, seq = frame.stream, frame.seq
        seen = self.last_seq.get(stream)
        held = self._held.get(stream)
        if seen is None or (held is None and seq == seen + 1):
            self._route(frame)
            return
        if seq <= seen:
            return  # already delivered (from the buffer, or a heal round)
        if held is None:
            held = self._held[stream] = {}
            _spawn(self._fill_gap(stream))
        held[seq] = frame

    async def _fill_gap(self, stream: str) -> None:
        try:
            since = await store.since(stream, self.last_seq.get(stream, 0))
        except Exception:
            log.exception("ws hub: filling a gap in %s failed; its sockets resync", stream)
            since = store.Since(covered=False, frames=[], head=0)
        held = self._held.pop(stream, {})
        frames = (
            {seq: read_stored_frame(stream, seq, text) for seq, text in since.frames} if since.covered else {}
        )
        frames.update(held)
        for seq in sorted(frames):
            if seq > self.last_seq.get(stream, 0):
                self._route(frames[seq])
        if not since.covered:
            log.warning("ws hub: %s has a gap the buffer no longer covers; its sockets resync", stream)
            self._resync_sockets(stream)

    def _resync_sockets(self, stream: str) -> None:
        """Every local socket of `stream` takes a fresh snapshot (it may have missed frames)."""
        self._forget_snapshot(stream)  # the hub missed frames: no snapshot of before may be reused
        subs = tuple(self.streams.get(stream, ()))
        count_ws_resync(len(subs))
        for sub in subs:
            _spawn(sub.resync())

    def _route(self, frame: StreamFrame) -> None:
        """Through the stream's batcher, if any, to every local socket."""
        if frame.seq > self.last_seq.get(frame.stream, 0):
            self.last_seq[frame.stream] = frame.seq
        self._remember(frame)
        for prefix, batcher in self.batchers.items():
            if frame.stream.startswith(prefix):
                batcher.offer(frame)
                return
        self.fanout(frame)

    def fanout(self, frame: StreamFrame) -> None:
        """Write one frame to every local socket of its stream, now."""
        members = self.streams.get(frame.stream)
        if not members:
            return
        slot = slot_of(frame)
        count_ws_frames(len(members))
        for sub in tuple(members):
            sub.deliver(frame, slot)

    async def _receive_loop(self) -> None:
        assert self.layer is not None and self.channel is not None
        while True:
            try:
                message = await self.layer.receive(self.channel)
                self.dispatch(read_layer_message(message))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ws hub: bad message from the channel layer")

    async def _heal_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.WS_HEAL_INTERVAL_SECONDS)
            try:
                await self.heal()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ws hub: heal round failed")

    async def heal(self) -> None:
        """Catch up streams whose Redis head stayed ahead of what the hub saw for a whole round."""
        streams = [s for s in self.streams if s in self._joining and self._joining[s].done()]
        for stream, head in zip(streams, await store.heads(streams), strict=True):
            seen = self.last_seq.get(stream, 0)
            if head <= seen:
                self._behind.pop(stream, None)
                continue
            if self._behind.get(stream) != seen:
                self._behind[stream] = seen  # maybe just in flight: look again next round
                continue
            since = await store.since(stream, seen)
            log.warning("ws hub: %s behind (%d < %d); healing from the buffer", stream, seen, head)
            if since.covered:
                for seq, text in since.frames:
                    self.dispatch(read_stored_frame(stream, seq, text))
            else:
                self.last_seq[stream] = head
                self._resync_sockets(stream)
            self._behind.pop(stream, None)


_RECENT_FRAMES = 512  # per stream: more than a reuse window's frames at any rate the hub keeps up with


def _reuse_window() -> float:
    """`WS_SNAPSHOT_REUSE_MS` in seconds (0: every joiner outside a load in flight reads its own)."""
    return float(getattr(settings, "WS_SNAPSHOT_REUSE_MS", 1000)) / 1000


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (one per ASGI process in production)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
