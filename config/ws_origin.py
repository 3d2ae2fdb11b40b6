"""Which WebSocket handshakes to accept by their Origin header.

Browsers always send Origin, and a browser socket may carry the session cookie, so a foreign
Origin is refused (cross-site WebSocket hijacking). Non-browser clients (a game or 3D venue
client, a script with an API token) usually send no Origin; they cannot carry someone else's
cookie, so a handshake with neither Origin nor Cookie is let through to token authentication.
"""

from typing import Any

from channels.security.websocket import AllowedHostsOriginValidator

ASGIApp = Any


class OriginValidator:
    """AllowedHostsOriginValidator, except for cookie-less handshakes without an Origin."""

    def __init__(self, application: ASGIApp) -> None:
        self.application = application
        self.checked = AllowedHostsOriginValidator(application)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        names = {name.lower() for name, _ in scope.get("headers", [])}
        if b"origin" not in names and b"cookie" not in names:
            return await self.application(scope, receive, send)
        return await self.checked(scope, receive, send)
