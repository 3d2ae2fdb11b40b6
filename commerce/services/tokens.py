"""API tokens: issue (expiring), list, revoke one or all, purge expired rows (django-rest-knox rows)."""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from knox.models import AuthToken, get_digest_token
from knox.settings import CONSTANTS

from commerce.errors import NotFound

_TOKEN_ID = re.compile(r"[0-9A-Za-z_-]{1,25}")


@dataclass(frozen=True)
class IssuedToken:
    key: str  # shown once; only its digest is stored
    row: AuthToken


def user_tokens(*, user_id: int) -> QuerySet[AuthToken]:
    """The user's tokens that have not expired, newest first (selector)."""
    return AuthToken.objects.filter(user_id=user_id, expiry__gt=timezone.now()).order_by("-created")


@transaction.atomic
def issue_token(*, user: User) -> IssuedToken:
    """A new token for `user`, expiring after API_TOKEN_TTL_SECONDS; the oldest go past the per-user cap."""
    row, key = AuthToken.objects.create(user=user, expiry=timedelta(seconds=settings.API_TOKEN_TTL_SECONDS))
    keep = settings.API_TOKEN_MAX_PER_USER
    surplus = (
        AuthToken.objects.filter(user=user)
        .order_by("-created", "-digest")
        .values_list("digest", flat=True)[keep:]
    )
    if surplus:
        AuthToken.objects.filter(digest__in=list(surplus)).delete()
    return IssuedToken(key=key, row=row)


def issue_tokens_for_new_users(*, users: list[User]) -> list[str]:
    """One token per user, in one statement: for accounts created in bulk (load tests, fixtures).

    The users must have no tokens yet (the per-user cap is not applied); rows are as `issue_token`'s.
    """
    expiry = timezone.now() + timedelta(seconds=settings.API_TOKEN_TTL_SECONDS)
    pairs = [(user, *get_digest_token()) for user in users]
    AuthToken.objects.bulk_create(
        [
            AuthToken(digest=digest, token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user=user, expiry=expiry)
            for user, digest, key in pairs
        ]
    )
    return [key for _, _, key in pairs]


def revoke_token(*, user_id: int, token_id: str) -> None:
    """Delete one of the user's tokens by its public id (the first characters of the key)."""
    deleted = 0
    if _TOKEN_ID.fullmatch(token_id):  # anything else names no token (and NUL bytes never reach SQL)
        deleted, _ = AuthToken.objects.filter(user_id=user_id, token_key=token_id).delete()
    if not deleted:
        raise NotFound("Token not found.", details={"resource": "token", "id": token_id})


def revoke_all_tokens(*, user_id: int) -> int:
    """Sign the user out of every API client; returns how many tokens were revoked."""
    deleted, _ = AuthToken.objects.filter(user_id=user_id).delete()
    return deleted


def purge_expired_tokens() -> int:
    """Delete expired token rows (they already fail authentication)."""
    deleted, _ = AuthToken.objects.filter(expiry__lte=timezone.now()).delete()
    return deleted
