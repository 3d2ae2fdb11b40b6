"""Single-use, short-lived WebSocket tickets: how API clients authenticate a socket without a token in the URL.

A client holding an API token (or a session) asks `POST /api/v1/ws-tickets/` for a ticket and opens the
socket with it (`?ticket=<t>` or the subprotocol `ticket.<t>`) within WS_TICKET_TTL_SECONDS. The ticket
lives in Redis under its SHA-256 (a leaked Redis dump holds no usable ticket) and is consumed with one
GETDEL, so two sockets racing with the same ticket cannot both get it. A ticket in a log line is useless
once used or expired, unlike the long-lived API token it replaces.
"""

import hashlib
import secrets
from functools import cache

import redis
from django.conf import settings

from realtime.ws import store

_PREFIX = "mintdrop:ws-ticket:"
MAX_TICKET_LENGTH = 64  # what the server hands out is 43 characters; longer input is refused unread


def _key(ticket: str) -> str:
    return _PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


@cache
def _sync_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def issue_ticket(*, user_id: int) -> str:
    """A new ticket for `user_id`, valid once within WS_TICKET_TTL_SECONDS (sync: WSGI views)."""
    ticket = secrets.token_urlsafe(32)
    _sync_client().set(_key(ticket), str(user_id), ex=settings.WS_TICKET_TTL_SECONDS)
    return ticket


async def consume_ticket(ticket: str) -> int | None:
    """The user id the ticket was issued to, once; None when unknown, expired or already used."""
    if not ticket or len(ticket) > MAX_TICKET_LENGTH:
        return None
    value = await store.client().getdel(_key(ticket))
    return int(value) if value is not None else None
