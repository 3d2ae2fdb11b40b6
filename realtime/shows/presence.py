"""Viewer counts and reaction bursts, shared across ws processes through Redis, pushed at most once a second.

Each ws process counts its own sockets per show. Once a second it writes its count into the
show's Redis hash (field = process id, value = "count:unix time"), reads the hash back, sums the
fields heard from in the last `SHOWS_PRESENCE_STALE_SECONDS` (a killed process drops out by
itself) and, only when the total changed, writes one `presence` frame to its local sockets.
Reactions are counted the same way into a per-second hash; the loop sends the totals of the
second just finished as one `reactions` frame. No frame per join, leave or tap: a burst of
thousands of viewers arriving costs one frame per socket per second at most.

These frames carry no seq (they are not part of the stream's history and are never replayed).
"""

import asyncio
import logging
import os
import time
import uuid
import weakref
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from realtime.ws import protocol, store
from realtime.ws.hub import Slot, Subscriber

log = logging.getLogger(__name__)

REACTIONS = ("heart", "fire", "clap", "laugh", "wow")


def presence_key(show_id: int) -> str:
    return f"{settings.KAFKA_TOPIC_PREFIX}shows:presence:{show_id}"


def reactions_key(show_id: int, second: int) -> str:
    return f"{settings.KAFKA_TOPIC_PREFIX}shows:reactions:{show_id}:{second}"


def total_from(fields: dict[bytes, bytes], now: float, stale_s: float) -> tuple[int, list[bytes]]:
    """Sum of live processes' counts, and the fields of processes not heard from (to delete)."""
    total, stale = 0, []
    for name, value in fields.items():
        count, _, seen = value.decode().partition(":")
        if now - float(seen or 0) > stale_s:
            stale.append(name)
        else:
            total += int(count)
    return total, stale


class Presence:
    """One per event loop (ws process): local sockets per show and the once-a-second loop."""

    def __init__(self) -> None:
        self.proc = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.local: dict[int, set[Subscriber]] = {}
        self.sent: dict[int, int] = {}
        self.reacted_second: dict[int, int] = {}
        self.task: asyncio.Task[None] | None = None

    def add(self, show_id: int, sub: Subscriber) -> None:
        self.local.setdefault(show_id, set()).add(sub)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._loop())

    def remove(self, show_id: int, sub: Subscriber) -> None:
        members = self.local.get(show_id)
        if members is not None:
            members.discard(sub)

    def count(self, show_id: int) -> int:
        return self.sent.get(show_id, 0)

    async def react(self, show_id: int, reaction: str) -> None:
        """Count one reaction in this second's shared bucket."""
        second = int(time.time())
        key = reactions_key(show_id, second)
        pipe = store.client().pipeline(transaction=False)
        pipe.hincrby(key, reaction, 1)
        pipe.expire(key, 10)
        await pipe.execute()

    async def _loop(self) -> None:
        interval = settings.SHOWS_PRESENCE_INTERVAL_SECONDS
        while True:
            started = time.monotonic()
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("shows: presence round failed")
            await asyncio.sleep(max(0.05, interval - (time.monotonic() - started)))

    async def tick(self) -> None:
        """One round: publish our counts, read totals, push what changed to local sockets."""
        shows = list(self.local)
        if not shows:
            return
        now = time.time()
        last_second = int(now) - 1
        redis = store.client()
        pipe = redis.pipeline(transaction=False)
        for show_id in shows:  # four commands per show, in this order
            key = presence_key(show_id)
            count = len(self.local[show_id])
            if count:
                pipe.hset(key, self.proc, f"{count}:{now:.3f}")
            else:
                pipe.hdel(key, self.proc)
            pipe.expire(key, 3600)
            pipe.hgetall(key)
            pipe.hgetall(reactions_key(show_id, last_second))
        results = await pipe.execute()
        stale_s = settings.SHOWS_PRESENCE_STALE_SECONDS
        per_show = [results[i + 2 : i + 4] for i in range(0, len(results), 4)]
        cleanup = redis.pipeline(transaction=False)
        dirty = False
        for show_id, (fields, reacted) in zip(shows, per_show, strict=True):
            total, stale = total_from(fields, now, stale_s)
            if stale:
                cleanup.hdel(presence_key(show_id), *stale)
                dirty = True
            subs = self.local[show_id]
            if total != self.sent.get(show_id):
                self.sent[show_id] = total
                self._write(subs, show_id, "presence", viewers=total)
            if reacted and self.reacted_second.get(show_id, 0) < last_second:
                self.reacted_second[show_id] = last_second
                counts = {k.decode(): int(v) for k, v in reacted.items() if k.decode() in REACTIONS}
                if counts:
                    self._write(subs, show_id, "reactions", counts=counts, second=last_second)
            if not subs:
                del self.local[show_id]
                self.sent.pop(show_id, None)
                self.reacted_second.pop(show_id, None)
        if dirty:
            await cleanup.execute()

    def _write(self, subs: Iterable[Subscriber], show_id: int, kind: str, **fields: Any) -> None:
        # Same seq-less frame to every socket; the hub's writer handles slow sockets (backlog, close).
        # A viewer count only restates the current value: a newer one replaces a queued one.
        text = protocol.encode({"type": kind, "stream": f"show.{show_id}", **fields})
        slot: Slot | None = (f"presence:show.{show_id}", frozenset()) if kind == "presence" else None
        for sub in tuple(subs):
            if not sub.closed and not sub.syncing:
                sub._write(text, slot)


_presences: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Presence]" = weakref.WeakKeyDictionary()


def get_presence() -> Presence:
    """The presence tracker of the running event loop."""
    loop = asyncio.get_running_loop()
    presence = _presences.get(loop)
    if presence is None:
        presence = _presences[loop] = Presence()
    return presence
