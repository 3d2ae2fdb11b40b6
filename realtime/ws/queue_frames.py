"""`queue` frames on `/ws/drops/<id>/`: each signed-in buyer's place in the drop's waiting room.

Frames: `{"type": "queue", "seq": <last stream seq sent>, "stream": "drop.<id>", "status", "position",
"ticket", "eta_seconds", "admit_per_second", "rule", "room", ["admission_token",
"admission_expires_at_ms"], ["rebuilding_until_ms", "message"]}` -- the body of GET
/api/v1/drops/<id>/queue/ -- or `status: "paused"` with a message while Redis does not answer.
They are per socket and not numbered (like `pong`): `seq` repeats the last stream frame's.

One poller per (ws process, drop) reads the places of every watching buyer of that process in one
Redis script call and the drop's configuration in one query every COMMERCE_WAITING_ROOM_PUSH_SECONDS,
and writes a frame only to sockets whose place changed. Identity is the user, not the socket: a
buyer who reconnects (or has two tabs) sees the same place.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from channels.db import database_sync_to_async
from django.conf import settings

from commerce.waiting_room import services as rooms
from commerce.waiting_room import store
from realtime.ws import protocol

log = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]


@dataclass(eq=False)
class Watcher:
    """One socket of a signed-in buyer on a drop stream."""

    user_id: int
    stream: str
    send_text: SendText
    seq: Callable[[], int]
    last: dict[str, Any] | None = None


@dataclass
class _DropPoller:
    drop_id: int
    watchers: set[Watcher] = field(default_factory=set)
    task: "asyncio.Task[None] | None" = None


_pollers: dict[int, _DropPoller] = {}


def _read(drop_id: int, user_ids: list[int]) -> dict[int, dict[str, Any]] | None:
    """Everyone's place (sync: runs in a thread); None when the drop has no waiting room."""
    config = rooms.load_config(drop_id=drop_id)
    if config is None or not config.queued:
        return None
    try:
        meta, room = rooms.room_places(config, user_ids)
    except redis.RedisError:
        paused = {
            "drop_id": drop_id,
            "status": "paused",
            "message": "The waiting room is paused; your place is kept if it can be.",
        }
        return dict.fromkeys(user_ids, paused)
    return {
        uid: rooms.describe(
            config=config, meta=meta, buyer_id=uid, place=room.places.get(uid, store.Place("none"))
        )
        for uid in user_ids
    }


async def _poll(poller: _DropPoller) -> None:
    while poller.watchers:
        watchers = list(poller.watchers)
        try:
            places = await database_sync_to_async(_read)(
                poller.drop_id, sorted({w.user_id for w in watchers})
            )
        except Exception:  # a database blip: try again next round
            log.exception("queue frames of drop %s", poller.drop_id)
            places = {}
        if places is None:
            return  # no waiting room: nothing to push (a merchant turning it on later needs a reconnect)
        for watcher in watchers:
            body = places.get(watcher.user_id)
            if body is not None and body != watcher.last:
                watcher.last = body
                frame = protocol.frame("queue", seq=watcher.seq(), stream=watcher.stream, **body)
                try:
                    await watcher.send_text(protocol.encode(frame))
                except Exception:  # the socket went away; disconnect() unregisters it
                    poller.watchers.discard(watcher)
        await asyncio.sleep(settings.COMMERCE_WAITING_ROOM_PUSH_SECONDS)


def watch(watcher: Watcher, drop_id: int) -> None:
    """Start pushing `queue` frames to this socket (first frame within one poll)."""
    poller = _pollers.setdefault(drop_id, _DropPoller(drop_id))
    poller.watchers.add(watcher)
    if poller.task is None or poller.task.done():
        poller.task = asyncio.get_running_loop().create_task(_poll(poller))


def unwatch(watcher: Watcher, drop_id: int) -> None:
    poller = _pollers.get(drop_id)
    if poller is not None:
        poller.watchers.discard(watcher)
        if not poller.watchers:
            _pollers.pop(drop_id, None)
