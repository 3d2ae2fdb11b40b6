"""Consumer dispatch without Channels' database hop per message.

Channels' `AsyncConsumer.dispatch` runs `close_old_connections` on the thread-sensitive executor
before every handler, and `websocket_disconnect` once more: three thread hops per socket lifetime
plus one per client message, all queued on the one thread that also runs the database reads. The
ws consumers touch the database only through `database_sync_to_async`, which closes old
connections on that thread before and after each call anyway, so the extra hops protect nothing
here; in a burst of thousands of connects they were most of the executor's queue (profile:
bench/README.md).
"""

from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer


class DirectDispatchMixin:
    """Put before AsyncWebsocketConsumer in the bases of a consumer with no channel-layer groups."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        await self.disconnect(message["code"])  # type: ignore[attr-defined]
        raise StopConsumer()
