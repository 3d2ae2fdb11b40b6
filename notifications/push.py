"""The unread badge over each user's WebSocket: one Channels group per user, `notify.user.<id>`.

Called after commit (the count is read from the database then), from the notify consumer and from
the web process when the user marks notifications read, so every open tab of that user updates.
A failed push is only logged: the badge is also rendered with each page.
"""

import logging

from channels.layers import get_channel_layer

from notifications.selectors import latest_for, unread_count
from realtime.ws.layer_sync import group_send_blocking

log = logging.getLogger(__name__)


def group_name(user_id: int) -> str:
    return f"notify.user.{user_id}"


def unread_changed(*, user_id: int) -> None:
    """Send the user's current unread count (and newest entry) to their sockets."""
    layer = get_channel_layer()
    if layer is None:
        return
    latest = latest_for(user_id=user_id)
    message = {
        "type": "notify.unread",
        "unread": unread_count(user_id=user_id),
        "latest": latest,
    }
    try:
        group_send_blocking(group_name(user_id), message)
    except Exception:
        log.warning("notifications: badge push to user %s failed", user_id, exc_info=True)
