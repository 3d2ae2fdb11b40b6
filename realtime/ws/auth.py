"""Who is on the other end of a socket: the Django session (AuthMiddlewareStack) or a DRF token.

Browsers cannot set headers on a WebSocket, so a token may come three ways: `?token=<key>`,
an `Authorization: Token <key>` header (non-browser clients), or the subprotocol list
`["mintdrop.v1", "token.<key>"]` (the server then answers with `mintdrop.v1`). The session, when
present, wins. A token that is given but unknown marks the scope so the consumer closes with 4401
rather than quietly treating the client as anonymous.
"""

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

SUBPROTOCOL = "mintdrop.v1"
TOKEN_SUBPROTOCOL_PREFIX = "token."


def token_from_scope(scope: dict[str, Any]) -> str | None:
    """The API token the client presented, if any."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    if values:
        return values[0]
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, key = value.decode("latin-1").partition(" ")
            if kind.lower() in ("token", "bearer") and key:
                return key.strip()
    for proto in scope.get("subprotocols", []):
        if proto.startswith(TOKEN_SUBPROTOCOL_PREFIX):
            return proto[len(TOKEN_SUBPROTOCOL_PREFIX) :]
    return None


@database_sync_to_async
def user_for_token(key: str) -> Any:
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


class TokenAuthMiddleware:
    """Sets `scope["user"]` from an API token when the session did not authenticate the client."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            key = token_from_scope(scope)
            if key:
                found = await user_for_token(key[:128])
                scope = {
                    **scope,
                    "user": found or AnonymousUser(),
                    "auth_error": None if found else "invalid_token",
                }
        return await self.inner(scope, receive, send)


def accepted_subprotocol(scope: dict[str, Any]) -> str | None:
    """Answer `mintdrop.v1` when the client offered it (browsers require an answer then)."""
    return SUBPROTOCOL if SUBPROTOCOL in scope.get("subprotocols", []) else None
