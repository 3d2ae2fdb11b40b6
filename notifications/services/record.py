"""Recording a notification: the in-app entry and the outgoing e-mail row, in the caller's transaction.

`notify()` is called by the Kafka handlers (inside the consumer's transaction, next to the inbox
row) and by the account views. It writes rows only; the SMTP send happens after commit
(notifications.services.mailer), so a rolled-back transaction never sends anything and a
committed one is never lost.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from notifications import push, tokens
from notifications.categories import is_transactional
from notifications.headers import message_id, one_line
from notifications.kinds import Kind, kind
from notifications.models import EmailOptOut, Notification, OutgoingEmail, VerifiedEmail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recorded:
    in_app: bool  # an in-app entry was written now (False: it existed)
    email: bool  # an e-mail row was written now
    skipped_email: str = ""  # why no e-mail: "no_address", "unverified", "opted_out", "duplicate"


def _insert_once(row: Notification | OutgoingEmail) -> bool:
    """Insert `row` unless its unique key exists (a savepoint keeps the caller's transaction usable)."""
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_url(*, user_id: int, category: str) -> str:
    token = tokens.unsubscribe_token(user_id=user_id, category=category)
    return site_url(f"/notifications/unsubscribe/{token}/")


def has_verified_email(user: Any) -> bool:
    """The user's current address is the one they verified."""
    if not user.email:
        return False
    verified = VerifiedEmail.objects.filter(user_id=user.pk).values_list("email", flat=True).first()
    return verified is not None and verified.lower() == user.email.lower()


def opted_out(*, user_id: int, category: str) -> bool:
    return EmailOptOut.objects.filter(user_id=user_id, category=category).exists()


def _subject(spec: Kind, context: dict[str, Any]) -> str:
    safe = {k: one_line(str(v), max_length=120) for k, v in context.items() if not isinstance(v, dict | list)}
    return one_line(spec.subject.format_map(_Missing(safe)), max_length=250)


class _Missing(dict[str, str]):
    """format_map() that leaves an unknown field visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(spec: Kind, *, user: Any, context: dict[str, Any], unsubscribe: str = "") -> tuple[str, str, str]:
    """(subject, text body, html body) of one message."""
    full = {
        "site_name": settings.NOTIFY_SITE_NAME,
        "site_url": settings.SITE_URL.rstrip("/"),
        "username": user.get_username() if user is not None else "",
        "unsubscribe_url": unsubscribe,
        "category_label": spec.category.label,
        **context,
    }
    subject = _subject(spec, full)
    full["subject"] = subject
    text = render_to_string(f"notifications/email/{spec.name}.txt", full)
    html = render_to_string(f"notifications/email/{spec.name}.html", full)
    return subject, text, html


def notify(
    *,
    user: AbstractBaseUser,
    kind_name: str,
    dedupe_key: str,
    context: dict[str, Any],
    from_name: str,
    event_id: UUID | None = None,
    url: str = "",
    summary: str = "",
    in_app: bool = True,
    email: bool = True,
    to_address: str | None = None,
) -> Recorded:
    """Record kind `kind_name` for `user` once per `dedupe_key` (in-app entry + e-mail row).

    Must run inside a transaction (the consumer's, or the view's `atomic`). E-mail goes only to a
    verified address (except ACCOUNT mail, which is how an address gets verified: pass
    `to_address`), and not to a category the user opted out of unless it is transactional.
    """
    spec = kind(kind_name)
    user_id = int(user.pk)
    subject_line = _subject(spec, {"site_name": settings.NOTIFY_SITE_NAME, **context})
    wrote_in_app = False
    if in_app:
        wrote_in_app = _insert_once(
            Notification(
                user_id=user_id,
                key=dedupe_key,
                event_id=event_id,
                kind=spec.name,
                category=spec.category,
                title=subject_line[:300],
                body=summary[:2000],
                url=url[:500],
                warning=spec.warning,
            )
        )
        transaction.on_commit(lambda: push.unread_changed(user_id=user_id))
    if not email:
        return Recorded(in_app=wrote_in_app, email=False, skipped_email="not_requested")
    address = to_address or getattr(user, "email", "")
    if not address:
        return Recorded(in_app=wrote_in_app, email=False, skipped_email="no_address")
    if to_address is None and not has_verified_email(user):
        return Recorded(in_app=wrote_in_app, email=False, skipped_email="unverified")
    transactional = is_transactional(spec.category)
    if not transactional and opted_out(user_id=user_id, category=spec.category):
        return Recorded(in_app=wrote_in_app, email=False, skipped_email="opted_out")
    key = f"{dedupe_key}:{user_id}"
    if OutgoingEmail.objects.filter(key=key).exists():
        return Recorded(in_app=wrote_in_app, email=False, skipped_email="duplicate")
    unsubscribe = "" if transactional else unsubscribe_url(user_id=user_id, category=spec.category)
    subject, text, html = render(spec, user=user, context=context, unsubscribe=unsubscribe)
    headers = {"X-Mintdrop-Kind": spec.name}
    if unsubscribe:
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    wrote_email = _insert_once(
        OutgoingEmail(
            key=key,
            event_id=event_id,
            user_id=user_id,
            kind=spec.name,
            category=spec.category,
            from_name=one_line(from_name, max_length=100) or settings.NOTIFY_SITE_NAME,
            to_address=address,
            subject=subject,
            text_body=text,
            html_body=html,
            headers=headers,
            message_id=message_id(
                dedupe_key=dedupe_key, user_id=user_id, domain=settings.NOTIFY_MESSAGE_ID_DOMAIN
            ),
            next_attempt_at=timezone.now() - timedelta(seconds=1),
        )
    )
    if wrote_email:
        from notifications.services.mailer import send_soon

        transaction.on_commit(send_soon)
    return Recorded(in_app=wrote_in_app, email=wrote_email)
