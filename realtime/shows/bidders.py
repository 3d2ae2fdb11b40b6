"""Frames for one viewer only ("you were outbid"), on the show socket.

Each signed-in viewer's show socket also joins `bidder.<show id>.<user id>` in the process hub
(one channel-layer group per signed-in viewer and process, not a channel per socket). An `outbid`
frame is sent to that group after the commit that outbid them, numbered by the outbidding bid's
primary key (increasing), so it reaches the previous leader's sockets on every ws process and
nobody else's.
"""

import logging
from typing import Any

from django.db import transaction

from realtime.ws import protocol, store
from realtime.ws.layer_sync import group_send_blocking

log = logging.getLogger(__name__)


def bidder_stream(show_id: int, user_id: int) -> str:
    return f"bidder.{show_id}.{user_id}"


def send_to_bidder(show_id: int, user_id: int, kind: str, *, seq: int, **fields: Any) -> None:
    """Send one frame to a viewer's sockets of this show now (sync code)."""
    stream = bidder_stream(show_id, user_id)
    frame = protocol.stream_frame(kind, seq=seq, stream=stream, **fields)
    group_send_blocking(store.group_name(stream), frame.layer_message())


def push_to_bidder_on_commit(show_id: int, user_id: int, kind: str, *, seq: int, **fields: Any) -> None:
    """Inside a transaction: send the frame once it commits (never for a rolled-back change)."""

    def push() -> None:
        try:
            send_to_bidder(show_id, user_id, kind, seq=seq, **fields)
        except Exception:  # committed anyway; the auction frame says who leads
            log.exception("shows: pushing %s to user %s of show %s failed", kind, user_id, show_id)

    transaction.on_commit(push)
