"""Per-category e-mail opt-out, from the account page or a one-click unsubscribe link."""

from typing import Any

from django.db import transaction

from notifications import tokens
from notifications.categories import Category, is_transactional, optional_categories
from notifications.errors import InvalidLink
from notifications.models import EmailOptOut


@transaction.atomic
def set_email_preferences(*, user: Any, enabled: set[str]) -> set[str]:
    """Opt `user` out of every optional category not in `enabled`; returns the opted-out set."""
    optional = {c.value for c in optional_categories()}
    wanted_out = optional - set(enabled)
    EmailOptOut.objects.filter(user=user).exclude(category__in=wanted_out).delete()
    for category in sorted(wanted_out):
        EmailOptOut.objects.get_or_create(user=user, category=category)
    return wanted_out


@transaction.atomic
def unsubscribe(*, token: str) -> tuple[int, str]:
    """Apply a one-click unsubscribe link (no login needed); returns (user id, category).

    Refused with InvalidLink (nothing changed) for a forged / altered token or a category that
    cannot be turned off.
    """
    from django.contrib.auth import get_user_model

    claim = tokens.read_unsubscribe_token(token)
    if claim.category not in Category.values or is_transactional(claim.category):
        raise InvalidLink("this unsubscribe link is not valid")
    if not get_user_model().objects.filter(pk=claim.user_id).exists():
        raise InvalidLink("this unsubscribe link is not valid")
    EmailOptOut.objects.get_or_create(user_id=claim.user_id, category=claim.category)
    return claim.user_id, claim.category
