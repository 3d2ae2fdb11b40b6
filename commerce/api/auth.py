"""Token authentication with a small in-process cache of token -> user.

The stock DRF TokenAuthentication costs one query per request (token joined to its user): on the
drop-stampede path that is a quarter of the round trips. Tokens are looked up by a 40-character
random key and change rarely, so each web process keeps the answer for a few seconds
(`API_TOKEN_CACHE_SECONDS`, default 10; 0 turns the cache off). A deleted token is forgotten at
once in the process that deleted it and within that TTL everywhere else; a deactivated user is
refused within the TTL too.
"""

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

_MAX_ENTRIES = 20_000  # bounded: cleared when full (tokens are cheap to look up again)
_cache: dict[str, tuple[float, Any, Token]] = {}
_lock = threading.Lock()


def _ttl() -> float:
    return float(getattr(settings, "API_TOKEN_CACHE_SECONDS", 10))


def forget(key: str | None = None) -> None:
    """Drop one token (or all of them) from this process's cache."""
    with _lock:
        if key is None:
            _cache.clear()
        else:
            _cache.pop(key, None)


class CachedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, answered from the cache when the key was seen recently."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        ttl = _ttl()
        now = time.monotonic()
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            # A copy: a view may set attributes on request.user; other requests must not see them.
            return copy.copy(hit[1]), hit[2]
        user, token = _lookup(key)  # raises AuthenticationFailed
        if ttl > 0:
            with _lock:
                if len(_cache) >= _MAX_ENTRIES:
                    _cache.clear()
                _cache[key] = (now + ttl, user, token)
        return user, token


_USER = get_user_model()
_USER_COLUMNS = [str(f.column) for f in _USER._meta.concrete_fields]
_USER_ATTNAMES = [f.attname for f in _USER._meta.concrete_fields]
# The same lookup as DRF's (token joined to its user), as SQL written once: compiling the ORM
# query with select_related cost more CPU than the round trip itself on the stampede path.
_LOOKUP_SQL = (
    f"SELECT t.created, {', '.join('u.' + c for c in _USER_COLUMNS)} "  # noqa: S608 (our columns)
    f"FROM {Token._meta.db_table} t JOIN {_USER._meta.db_table} u ON u.id = t.user_id WHERE t.key = %s"
)


def _lookup(key: str) -> tuple[Any, Token]:
    with connection.cursor() as cur:
        cur.execute(_LOOKUP_SQL, [key])
        row = cur.fetchone()
    if row is None:
        raise exceptions.AuthenticationFailed(_("Invalid token."))
    user = _USER.from_db("default", _USER_ATTNAMES, row[1:])
    if not user.is_active:
        raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
    token = Token.from_db("default", ["key", "user_id", "created"], [key, user.pk, row[0]])
    token.user = user
    return user, token


def _on_token_change(sender: type, instance: Token, **kwargs: Any) -> None:
    forget(instance.key)


post_delete.connect(_on_token_change, sender=Token, dispatch_uid="commerce.api.auth.token_deleted")
post_save.connect(_on_token_change, sender=Token, dispatch_uid="commerce.api.auth.token_saved")
