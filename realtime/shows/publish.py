"""Push show frames to viewers straight after the commit that made them true.

A frame gets the next number of the stream `show.<id>` from a Redis counter (the same script and
resume buffer the dashboard streams use, realtime/ws/store.py) and goes out with one `group_send`
to the stream's group; each ws process's hub fans it out to its local sockets. Kafka carries the
same facts as `show.*` events for audit and replay, but viewers don't wait for the relay.

If the process dies between commit and push, viewers miss that frame until their next snapshot
(reconnect, or the hub's heal loop when the head moved); the database stays the truth.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from realtime.ws import protocol, store

log = logging.getLogger(__name__)


def stream_of(show_id: int) -> str:
    return f"show.{show_id}"


def template(show_id: int, kind: str, fields: dict[str, Any]) -> str:
    """The frame as JSON text with a '{seq}' placeholder where its number goes."""
    text = protocol.encode(protocol.frame(kind, seq=0, stream=stream_of(show_id), **fields))
    return text.replace('"seq":0,', '"seq":{seq},', 1)


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _append(stream: str, text: str) -> tuple[int, str]:
    # The dashboard streams' script: next number from the head counter, stored in the resume buffer.
    seq, frame = _redis().eval(
        store._APPEND_NEXT,
        2,
        store.head_key(stream),
        store.buffer_key(stream),
        text,
        settings.WS_RESUME_BUFFER,
        settings.WS_STREAM_TTL_SECONDS,
    )
    return int(seq), frame.decode() if isinstance(frame, bytes) else str(frame)


def publish(show_id: int, kind: str, **fields: Any) -> int:
    """Number, buffer and broadcast one frame now (sync code: WSGI views, services, commands)."""
    stream = stream_of(show_id)
    fields.setdefault("at", timezone.now())
    seq, text = _append(stream, template(show_id, kind, fields))
    group = store.group_name(stream)
    layer = get_channel_layer()
    assert layer is not None
    async_to_sync(layer.group_send)(group, {"type": "ws.frame", "g": group, "s": seq, "t": text})
    return seq


def _publish_quietly(show_id: int, kind: str, fields: dict[str, Any]) -> None:
    try:
        publish(show_id, kind, **fields)
    except Exception:  # the change is committed; a late joiner's snapshot still shows it
        log.exception("shows: pushing %s of show %s failed", kind, show_id)


def push_on_commit(show_id: int, kind: str, **fields: Any) -> None:
    """Inside a transaction: push the frame once it commits (never for a rolled-back change)."""
    fields.setdefault("at", timezone.now())
    transaction.on_commit(_bind(show_id, kind, fields))


def _bind(show_id: int, kind: str, fields: dict[str, Any]) -> Callable[[], None]:
    return lambda: _publish_quietly(show_id, kind, fields)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
