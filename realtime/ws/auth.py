"""Who is on the other end of a socket: the Django session (AuthMiddlewareStack), a ticket, or a token header.

Browsers send the session cookie; that wins when present. Other clients get a single-use ticket over
HTTP (`POST /api/v1/ws-tickets/`, realtime/ws/tickets.py) and present it as `?ticket=<t>` or in the
subprotocol list `["mintdrop.v1", "ticket.<t>"]` (the server answers `mintdrop.v1`); clients that can set
headers may send `Authorization: Token <key>` instead. A long-lived API token in the URL (`?token=`) is
refused, so tokens stop landing in proxy and server logs. Credentials that are given but not valid mark
the scope (`auth_error`) so the consumer closes with 4401 rather than treating the client as anonymous.
"""

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import AuthenticationFailed

from realtime.ws.tickets import consume_ticket

SUBPROTOCOL = "mintdrop.v1"
TICKET_SUBPROTOCOL_PREFIX = "ticket."

AUTH_ERRORS = {
    "invalid_token": "The API token is not valid.",
    "invalid_ticket": "The ticket is unknown, expired or already used; get a new one from /api/v1/ws-tickets/.",
    "token_in_url": "API tokens are not accepted in the URL; get a ticket from /api/v1/ws-tickets/.",
}


def auth_error_message(scope: dict[str, Any]) -> str:
    """What to tell a client whose credentials were refused."""
    return AUTH_ERRORS.get(scope.get("auth_error") or "", "Not authenticated.")


def _query(scope: dict[str, Any]) -> dict[str, list[str]]:
    return parse_qs(scope.get("query_string", b"").decode("latin-1"))


def ticket_from_scope(scope: dict[str, Any]) -> str | None:
    """The ticket the client presented, if any (query string first, then the subprotocol list)."""
    values = _query(scope).get("ticket")
    if values:
        return values[0]
    for proto in scope.get("subprotocols", []):
        if proto.startswith(TICKET_SUBPROTOCOL_PREFIX):
            return proto[len(TICKET_SUBPROTOCOL_PREFIX) :]
    return None


def header_token(scope: dict[str, Any]) -> str | None:
    """An `Authorization: Token <key>` (or Bearer) header's key, if any."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, key = value.decode("latin-1").partition(" ")
            if kind.lower() in ("token", "bearer") and key:
                return key.strip()
    return None


@database_sync_to_async
def user_for_token(key: str) -> Any:
    """The active user of an API token, through the API's own authentication class (expiry, revocation)."""
    from commerce.api.auth import CachedTokenAuthentication

    try:
        user, _ = CachedTokenAuthentication().authenticate_credentials(key.encode())
    except AuthenticationFailed:
        return None
    return user


@database_sync_to_async
def active_user(user_id: int) -> Any:
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


async def _authenticate(scope: dict[str, Any]) -> tuple[Any, str | None]:
    if "token" in _query(scope):
        return None, "token_in_url"
    ticket = ticket_from_scope(scope)
    if ticket is not None:
        user_id = await consume_ticket(ticket)
        user = await active_user(user_id) if user_id is not None else None
        return user, None if user else "invalid_ticket"
    key = header_token(scope)
    if key:
        user = await user_for_token(key[:128])
        return user, None if user else "invalid_token"
    return None, None


class TokenAuthMiddleware:
    """Sets `scope["user"]` from a ticket or token header when the session did not authenticate the client."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            found, error = await _authenticate(scope)
            if found is not None or error is not None:
                scope = {**scope, "user": found or AnonymousUser(), "auth_error": error}
        return await self.inner(scope, receive, send)


def accepted_subprotocol(scope: dict[str, Any]) -> str | None:
    """Answer `mintdrop.v1` when the client offered it (browsers require an answer then)."""
    return SUBPROTOCOL if SUBPROTOCOL in scope.get("subprotocols", []) else None


class SessionAuthMiddleware(AuthMiddleware):
    """Channels' AuthMiddleware without a database hop for a handshake that has no session cookie.

    The stock one resolves the user on the thread-sensitive executor for every socket; with no
    session key there is nobody to look up (it would return AnonymousUser). A burst of thousands
    of anonymous viewers then queues nothing behind one thread.
    """

    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        session = scope.get("session")
        if session is not None and session.session_key is None:
            scope["user"]._wrapped = AnonymousUser()
            return
        await super().resolve_scope(scope)


def SessionAuthMiddlewareStack(inner: Any) -> Any:
    """Cookies -> session -> user, as channels.auth.AuthMiddlewareStack, with `SessionAuthMiddleware`."""
    return CookieMiddleware(SessionMiddleware(SessionAuthMiddleware(inner)))
