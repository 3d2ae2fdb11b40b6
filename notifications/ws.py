"""The per-user notification socket: `/ws/notifications/` (session or API token).

On connect it sends `{"type": "unread", "unread": n, "latest": {...}}`; then the same frame each
time the user's notifications change (a new one arrives, or one is marked read in another tab).
The socket only listens: marking read goes through the HTTP views.
"""

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from notifications.push import group_name
from notifications.selectors import latest_for, unread_count


@database_sync_to_async
def _snapshot(user_id: int) -> dict[str, Any]:
    return {"type": "unread", "unread": unread_count(user_id=user_id), "latest": latest_for(user_id=user_id)}


class NotificationConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.user_id = int(user.pk)
        self.group = group_name(self.user_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps(await _snapshot(self.user_id)))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients send nothing but an optional ping; answer it with the current count."""
        if text_data and text_data.strip() == '{"type":"ping"}':
            await self.send(text_data=json.dumps(await _snapshot(self.user_id)))

    async def notify_unread(self, event: dict[str, Any]) -> None:
        await self.send(
            text_data=json.dumps({"type": "unread", "unread": event["unread"], "latest": event["latest"]})
        )
