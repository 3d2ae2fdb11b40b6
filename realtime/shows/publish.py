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
from typing import Any

from django.db import transaction
from django.utils import timezone

from realtime.ws import protocol, store
from realtime.ws.layer_sync import group_send_blocking

log = logging.getLogger(__name__)


def stream_of(show_id: int) -> str:
    return f"show.{show_id}"


def template(show_id: int, kind: str, fields: dict[str, Any]) -> protocol.FrameTemplate:
    """The frame before its number (the stream's Redis counter gives it one)."""
    return protocol.frame_template(kind, stream=stream_of(show_id), **fields)


def publish(show_id: int, kind: str, **fields: Any) -> int:
    """Number, buffer and broadcast one frame now (sync code: WSGI views, services, commands)."""
    fields.setdefault("at", timezone.now())
    frame = store.append_next_blocking(template(show_id, kind, fields))
    group_send_blocking(store.group_name(frame.stream), frame.layer_message())
    return frame.seq


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
