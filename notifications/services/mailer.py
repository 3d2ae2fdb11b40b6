"""Sending the outgoing e-mail rows over SMTP, after commit, with retries and a dead letter.

Why an outbox row and not just a Celery task with retries: the broker here is Redis without
persistence, so a queued task (and Celery's own retry countdown) can vanish with it. The row is
written in the same transaction as the fact it reports; the send happens after commit; the row's
`attempts` / `next_attempt_at` drive the backoff. Celery only *drives* it: a task after each
commit (`send_soon`) for low latency, and the beat sweep (`send_due_emails`, every few seconds) for
retries and for anything whose task was lost.

One round of `send_due()`:
1. a short transaction claims up to N due rows (`FOR UPDATE SKIP LOCKED`, so concurrent senders
   never take the same row) and pushes their `next_attempt_at` forward by a lease
   (NOTIFY_SEND_LEASE_SECONDS, far longer than an SMTP exchange can take with EMAIL_TIMEOUT), and
   counts the attempt;
2. outside any transaction, each message goes to the SMTP server;
3. the row is marked `sent` (or gets its error, `next_attempt_at` = now + backoff, or `dead` after
   NOTIFY_MAX_ATTEMPTS).

The exact guarantee: every row is handed to the SMTP server until the server accepts it (never
lost: a crash at any point leaves the row pending and due again when the lease ends), unless it
goes `dead` after NOTIFY_MAX_ATTEMPTS failures, which is recorded with the reason and can be
re-driven from the admin. A row is sent more than once only if the sender dies (or loses its
database) after the server's final "250 OK" and before step 3 commits, or if the server accepted
the message but the reply was lost; each such incident can add one copy, and every copy carries
the same Message-ID (derived from the event and the recipient), so it is recognisable as a resend.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from monitoring.metrics import count_notification
from notifications.headers import from_header
from notifications.models import EmailStatus, OutgoingEmail

log = logging.getLogger(__name__)


def is_permanent(exc: BaseException) -> bool:
    """Trying again can never help: the message is malformed, or the server refused it with a 5xx."""
    if isinstance(exc, ValueError):  # e.g. BadHeaderError: the row itself is wrong
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return False


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0


def backoff_seconds(attempts: int) -> float:
    """Delay before attempt `attempts + 1`: BASE * 2^(attempts-1), capped."""
    delay: float = settings.NOTIFY_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return float(min(delay, settings.NOTIFY_RETRY_MAX_SECONDS))


def claim_due(*, limit: int) -> list[OutgoingEmail]:
    """Take up to `limit` due pending rows for this sender (lease + attempt counted), in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(status=EmailStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")[:limit]
        )
        if not rows:
            return []
        lease_until = now + timedelta(seconds=settings.NOTIFY_SEND_LEASE_SECONDS)
        OutgoingEmail.objects.filter(pk__in=[r.pk for r in rows]).update(
            attempts=F("attempts") + 1, next_attempt_at=lease_until
        )
    for row in rows:
        row.attempts += 1
    return rows


def build_message(row: OutgoingEmail) -> EmailMultiAlternatives:
    """The MIME message of a row: text + HTML, store name as sender name, our Message-ID."""
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.text_body,
        from_email=from_header(row.from_name, settings.DEFAULT_FROM_EMAIL),
        to=[row.to_address],
        headers={**row.headers, "Message-ID": row.message_id},
    )
    message.attach_alternative(row.html_body, "text/html")
    return message


def _mark_sent(row: OutgoingEmail) -> None:
    OutgoingEmail.objects.filter(pk=row.pk, status=EmailStatus.PENDING).update(
        status=EmailStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    count_notification("sent")


def _mark_failed(row: OutgoingEmail, exc: BaseException, *, permanent: bool) -> bool:
    """Record the failure; True if the row is now dead (no more attempts)."""
    reason = f"{type(exc).__name__}: {exc}"[:2000]
    dead = permanent or row.attempts >= settings.NOTIFY_MAX_ATTEMPTS
    OutgoingEmail.objects.filter(pk=row.pk, status=EmailStatus.PENDING).update(
        status=EmailStatus.DEAD if dead else EmailStatus.PENDING,
        last_error=reason,
        next_attempt_at=timezone.now() + timedelta(seconds=backoff_seconds(row.attempts)),
    )
    count_notification("dead" if dead else "failed")
    log.warning(
        "notifications: e-mail %s to %s failed (attempt %d%s): %s",
        row.pk,
        row.to_address,
        row.attempts,
        ", dead" if dead else "",
        reason,
    )
    return dead


def send_due(*, limit: int | None = None) -> SendReport:
    """Send what is due now (one claim round); see the module docstring for the guarantee."""
    report = SendReport()
    rows = claim_due(limit=limit or settings.NOTIFY_SEND_BATCH)
    report.claimed = len(rows)
    if not rows:
        return report
    connection = get_connection(fail_silently=False)
    try:
        for row in rows:
            try:
                connection.send_messages([build_message(row)])
            except (TimeoutError, smtplib.SMTPException, OSError, ValueError) as exc:
                if _mark_failed(row, exc, permanent=is_permanent(exc)):
                    report.dead += 1
                else:
                    report.failed += 1
                # A broken connection would fail every following row: open a fresh one next time.
                connection.close()
                continue
            _mark_sent(row)
            report.sent += 1
    finally:
        try:
            connection.close()
        except Exception:  # closing a dead connection must not hide the report
            log.debug("notifications: closing the SMTP connection failed", exc_info=True)
    return report


def send_soon() -> None:
    """After a commit that wrote e-mail rows: ask the worker to send now (the beat sweep is the net)."""
    from notifications.tasks import send_due_emails

    try:
        send_due_emails.delay()
    except Exception:
        # The broker is down: the rows are safe in PostgreSQL and the next sweep sends them.
        log.warning("notifications: could not enqueue the send task; the sweep will send", exc_info=True)


def redrive(*, email_ids: list[int]) -> int:
    """Put dead rows back in the queue (admin action); returns how many."""
    count = OutgoingEmail.objects.filter(pk__in=email_ids, status=EmailStatus.DEAD).update(
        status=EmailStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    if count:
        transaction.on_commit(send_soon)
    return count
