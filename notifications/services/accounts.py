"""Account mail: e-mail verification, password reset and "your password was changed".

These go through the same outbox as event mail (written in a transaction, sent after commit with
retries), so a mail server that is down delays them instead of failing the request.
"""

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from notifications import tokens
from notifications.errors import InvalidLink
from notifications.models import VerifiedEmail
from notifications.services.record import Recorded, notify, site_url


@transaction.atomic
def send_verification(*, user: Any) -> Recorded:
    """Mail a link that proves `user` reads their current address (a new link each time)."""
    token = tokens.verify_token(user_id=user.pk, email=user.email)
    return notify(
        user=user,
        kind_name="verify_email",
        dedupe_key=f"verify:{uuid.uuid4()}",
        context={
            "email": user.email,
            "verify_url": site_url(f"/account/verify-email/{token}/"),
            "valid_days": max(1, settings.NOTIFY_VERIFY_MAX_AGE_SECONDS // 86400),
        },
        from_name=settings.NOTIFY_SITE_NAME,
        in_app=False,
        to_address=user.email,
    )


@transaction.atomic
def verify_email(*, token: str) -> Any:
    """Mark the address in a verification link verified; returns the user.

    Refused (InvalidLink / ExpiredLink, nothing changed): a forged or altered token, an expired one,
    a user that no longer exists, or an address the user has since changed.
    """
    from django.contrib.auth import get_user_model

    claim = tokens.read_verify_token(token)
    user = get_user_model().objects.select_for_update().filter(pk=claim.user_id, is_active=True).first()
    if user is None:
        raise InvalidLink("this verification link is not valid")
    if not user.email or user.email.lower() != claim.email.lower():
        raise InvalidLink("this link is for an address you no longer use: ask for a new one")
    VerifiedEmail.objects.update_or_create(
        user=user, defaults={"email": user.email, "verified_at": timezone.now()}
    )
    return user


def mark_verified(*, user: Any) -> None:
    """Record the user's current address as confirmed (demo data, admin); no-op without an address."""
    if user.email:
        VerifiedEmail.objects.update_or_create(
            user=user, defaults={"email": user.email, "verified_at": timezone.now()}
        )


@transaction.atomic
def change_email(*, user: Any, email: str) -> Recorded | None:
    """Set a new address (unverified until its link is opened) and mail the link; None if unchanged."""
    if email.lower() == (user.email or "").lower():
        return None
    user.email = email
    user.save(update_fields=["email"])
    return send_verification(user=user) if email else None


@transaction.atomic
def send_password_reset(*, user: Any) -> Recorded:
    """Mail a password-reset link (Django's token: single use, PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return notify(
        user=user,
        kind_name="password_reset",
        dedupe_key=f"reset:{uuid.uuid4()}",
        context={
            "reset_url": site_url(f"/account/reset/{uid}/{token}/"),
            "valid_minutes": max(1, settings.PASSWORD_RESET_TIMEOUT // 60),
        },
        from_name=settings.NOTIFY_SITE_NAME,
        in_app=False,
        to_address=user.email,
    )


@transaction.atomic
def send_password_changed(*, user: Any) -> Recorded:
    """Tell the user their password changed (to a verified address), and note it in the centre."""
    return notify(
        user=user,
        kind_name="password_changed",
        dedupe_key=f"password-changed:{uuid.uuid4()}",
        context={
            "changed_at": timezone.now().strftime("%Y-%m-%d %H:%M"),
            "reset_url": site_url("/account/password-reset/"),
        },
        from_name=settings.NOTIFY_SITE_NAME,
        url="/account/",
        summary="If this was not you, reset your password now.",
    )
