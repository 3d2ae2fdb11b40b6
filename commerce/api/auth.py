"""API token authentication: expiring, revocable tokens (django-rest-knox) with a short process cache.

Tokens are knox `AuthToken` rows: only a SHA-512 digest is stored, each has an expiry
(`API_TOKEN_TTL_SECONDS`), a user may list and revoke theirs (`/api/v1/tokens/`). The header stays
`Authorization: Token <key>`.

knox's own authentication class costs two queries per request (the token joined to its user, then
every token of the user to delete expired ones): on the drop-stampede path that is a quarter of the
round trips. This class does one query, written as SQL once, and each web process keeps the answer for
a few seconds (`API_TOKEN_CACHE_SECONDS`, default 10; 0 turns the cache off), never past the token's
expiry. A revoked token is forgotten at once in the process that revoked it and within that TTL
everywhere else; a deactivated user is refused within the TTL too. Expired rows are deleted by
`commerce.tasks.purge_expired_tokens`.

Answers given in front of Django (the waiting room's joins and polls) need only the user's id:
`user_id_for_header` makes the same checks with a leaner query and keeps its answers in a second
cache with the same window and the same revocation.
"""

import binascii
import copy
import re
import threading
import time
from datetime import datetime
from hmac import compare_digest
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete
from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions

from config.db.prepared import prepared_cursor

_MAX_ENTRIES = 20_000  # bounded: cleared when full (tokens are cheap to look up again)
# digest -> (cache deadline on the monotonic clock, user, token row)
_cache: dict[str, tuple[float, Any, AuthToken]] = {}
# digest -> (cache deadline, user id, token expiry): all the edges need (user_id_for_header), filled by
# a leaner query than the full user's (~140 instead of ~215 µs of CPU per look-up), same window.
_ids: dict[str, tuple[float, int, datetime | None]] = {}
_lock = threading.Lock()
_PRINTABLE = re.compile(r"[\x21-\x7e]{1,256}")


def _ttl() -> float:
    return float(getattr(settings, "API_TOKEN_CACHE_SECONDS", 10))


def forget(digest: str | None = None) -> None:
    """Drop one token (by digest) or all of them from this process's cache."""
    with _lock:
        if digest is None:
            _cache.clear()
            _ids.clear()
        else:
            _cache.pop(digest, None)
            _ids.pop(digest, None)


def _remember(cache: dict[str, Any], digest: str, entry: tuple[Any, ...]) -> None:
    with _lock:
        if len(cache) >= _MAX_ENTRIES:
            cache.clear()
        cache[digest] = entry


class CachedTokenAuthentication(KnoxTokenAuthentication):
    """`Authorization: Token <key>` against knox tokens, answered from the cache when seen recently."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, AuthToken]:
        user, row, cached = _resolve(token)
        # A copy of a cached user: a view may set attributes on request.user; other requests must
        # not see them.
        return (copy.copy(user) if cached else user), row


def _key_and_digest(token: bytes) -> tuple[str, str]:
    key = token.decode("utf-8", errors="replace")
    if not _PRINTABLE.fullmatch(key):  # NUL bytes and the like never reach PostgreSQL
        raise exceptions.AuthenticationFailed("Invalid token.")
    try:
        return key, hash_token(key)
    except (TypeError, binascii.Error, ValueError):
        raise exceptions.AuthenticationFailed("Invalid token.") from None


def _resolve(token: bytes) -> tuple[Any, AuthToken, bool]:
    """(user, token row, whether both came from the cache) for a key; raises AuthenticationFailed."""
    key, digest = _key_and_digest(token)
    now = time.monotonic()
    if (hit := _cached_user(digest, now)) is not None:
        return hit[0], hit[1], True
    user, row = _lookup(key, digest)  # raises AuthenticationFailed
    if (ttl := _ttl()) > 0:
        _remember(_cache, digest, (now + ttl, user, row))
    return user, row, False


def _cached_user(digest: str, now: float) -> tuple[Any, AuthToken] | None:
    """(user, token row) from this process's cache while its window and the token both last."""
    hit = _cache.get(digest)
    if hit is not None and hit[0] > now and not _expired(hit[2].expiry):
        return hit[1], hit[2]
    return None


def user_id_for_header(header: str | bytes | None) -> int | None:
    """The id of the active user behind an `Authorization: Token <key>` header, decided as
    CachedTokenAuthentication decides it (the same checks, cache window and revocation), or None:
    another scheme, a malformed header, or a token it refuses (Django then answers, with its 401).
    For answers given in front of Django (commerce/waiting_room/edge.py), which need the id only: no
    user object is built or copied. Database errors propagate."""
    if not header:
        return None
    parts = (header.encode("latin-1") if isinstance(header, str) else header).split()
    if len(parts) != 2 or parts[0].lower() != knox_settings.AUTH_HEADER_PREFIX.encode().lower():
        return None
    try:
        key, digest = _key_and_digest(parts[1])
        now = time.monotonic()
        if (hit := _cached_user(digest, now)) is not None:
            return int(hit[0].pk)
        seen = _ids.get(digest)
        if seen is not None and seen[0] > now and not _expired(seen[2]):
            return seen[1]
        user_id, expiry = _lookup_id(key, digest)
    except exceptions.AuthenticationFailed:
        return None
    if (ttl := _ttl()) > 0:
        _remember(_ids, digest, (now + ttl, user_id, expiry))
    return user_id


def _expired(expiry: datetime | None) -> bool:
    return expiry is not None and expiry <= timezone.now()


_USER = get_user_model()
_USER_COLUMNS = [str(f.column) for f in _USER._meta.concrete_fields]
_USER_ATTNAMES = [f.attname for f in _USER._meta.concrete_fields]
_TOKEN_TABLE = AuthToken._meta.db_table
# knox's lookup (rows by the key's first characters, joined to the user), as SQL written once.
_LOOKUP_SQL = (
    f"SELECT t.digest, t.created, t.expiry, {', '.join('u.' + c for c in _USER_COLUMNS)} "  # noqa: S608
    f"FROM {_TOKEN_TABLE} t JOIN {_USER._meta.db_table} u ON u.id = t.user_id WHERE t.token_key = %s"
)


def _check_usable(expiry: datetime | None, *, active: bool) -> None:
    """The refusals both look-ups make for a matching token: expired, or its user inactive."""
    if _expired(expiry):
        raise exceptions.AuthenticationFailed("Token expired.")
    if not active:
        raise exceptions.AuthenticationFailed("User inactive or deleted.")


def _lookup(key: str, digest: str) -> tuple[Any, AuthToken]:
    with prepared_cursor() as cur:  # planned once per connection: planning was 3/4 of its cost
        cur.execute(_LOOKUP_SQL, [key[: CONSTANTS.TOKEN_KEY_LENGTH]])
        rows = cur.fetchall()
    for row in rows:
        if not compare_digest(row[0], digest):
            continue
        user = _USER.from_db("default", _USER_ATTNAMES, row[3:])
        _check_usable(row[2], active=user.is_active)
        token = AuthToken.from_db(
            "default",
            ["digest", "token_key", "user_id", "created", "expiry"],
            [digest, key[: CONSTANTS.TOKEN_KEY_LENGTH], user.pk, row[1], row[2]],
        )
        token.user = user
        return user, token
    raise exceptions.AuthenticationFailed("Invalid token.")


_ID_LOOKUP_SQL = (
    f"SELECT t.digest, t.expiry, u.id, u.is_active FROM {_TOKEN_TABLE} t "  # noqa: S608
    f"JOIN {_USER._meta.db_table} u ON u.id = t.user_id WHERE t.token_key = %s"
)


def _lookup_id(key: str, digest: str) -> tuple[int, datetime | None]:
    """`_lookup`'s checks (digest, expiry, active user) for the user's id only."""
    with prepared_cursor() as cur:
        cur.execute(_ID_LOOKUP_SQL, [key[: CONSTANTS.TOKEN_KEY_LENGTH]])
        rows = cur.fetchall()
    for row_digest, expiry, user_id, active in rows:
        if not compare_digest(row_digest, digest):
            continue
        _check_usable(expiry, active=active)
        return int(user_id), expiry
    raise exceptions.AuthenticationFailed("Invalid token.")


def _on_token_deleted(sender: type, instance: AuthToken, **kwargs: Any) -> None:
    forget(instance.digest)


post_delete.connect(_on_token_deleted, sender=AuthToken, dispatch_uid="commerce.api.auth.token_deleted")


class CachedTokenScheme(KnoxTokenScheme):
    """OpenAPI: the same `Authorization: Token <key>` scheme as knox's own class."""

    target_class = "commerce.api.auth.CachedTokenAuthentication"
    name = "tokenAuth"
