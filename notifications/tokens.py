"""Signed links (django.core.signing): e-mail verification and one-click unsubscribe.

The salt names the purpose, so a token made for one link is refused by the other. Unsubscribe
links do not expire (mail is read months later; RFC 8058 expects them to keep working); a
verification link carries the address it verifies and lives NOTIFY_VERIFY_MAX_AGE_SECONDS.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from notifications.errors import ExpiredLink, InvalidLink

_UNSUBSCRIBE_SALT = "notifications.unsubscribe.v1"
_VERIFY_SALT = "notifications.verify-email.v1"


@dataclass(frozen=True)
class UnsubscribeClaim:
    user_id: int
    category: str


@dataclass(frozen=True)
class VerifyClaim:
    user_id: int
    email: str


def unsubscribe_token(*, user_id: int, category: str) -> str:
    return signing.dumps({"u": user_id, "c": category}, salt=_UNSUBSCRIBE_SALT, compress=False)


def read_unsubscribe_token(token: str) -> UnsubscribeClaim:
    """The (user, category) of an unsubscribe link; InvalidLink if it was not made by us."""
    try:
        data = signing.loads(token[:500], salt=_UNSUBSCRIBE_SALT)
        return UnsubscribeClaim(user_id=int(data["u"]), category=str(data["c"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidLink("this unsubscribe link is not valid") from None


def verify_token(*, user_id: int, email: str) -> str:
    return signing.dumps({"u": user_id, "e": email}, salt=_VERIFY_SALT, compress=False)


def read_verify_token(token: str) -> VerifyClaim:
    """The (user, address) of a verification link; ExpiredLink / InvalidLink otherwise."""
    try:
        data = signing.loads(token[:500], salt=_VERIFY_SALT, max_age=settings.NOTIFY_VERIFY_MAX_AGE_SECONDS)
        return VerifyClaim(user_id=int(data["u"]), email=str(data["e"]))
    except signing.SignatureExpired:
        raise ExpiredLink("this verification link has expired: ask for a new one") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidLink("this verification link is not valid") from None
