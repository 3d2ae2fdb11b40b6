"""The e-mail outbox against the real Mailpit: one message per (event, recipient), the exact headers,
header injection refused, retries while the SMTP server is down, dead letters."""

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from notifications.handlers import on_order_paid
from notifications.models import EmailStatus, Notification, OutgoingEmail
from notifications.services.mailer import send_due
from tests.notifications.conftest import order_event
from tests.notifications.mailpit import MailpitApi, PrivateMailpit

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def deliver(event: Any) -> None:
    """What the consumer does for one event: the handler inside one transaction."""
    with transaction.atomic():
        on_order_paid(event)


def test_receipt_reaches_mailpit_once_with_lines_totals_and_store_as_sender(
    placed_order: Any, mailpit: MailpitApi, eager_celery: None
) -> None:
    order = placed_order(title="Linen tee", price=2500, quantity=2)
    event = order_event("order.paid", order)
    for _ in range(3):  # the same event delivered three times (past any inbox): one message
        deliver(event)
    found = mailpit.wait_for(order.buyer.email)
    assert len(found) == 1, found
    summary = found[0]
    assert summary["Subject"] == f"Your receipt for order #{order.pk} at Maison Test"
    assert summary["From"] == {"Name": "Maison Test", "Address": "no-reply@mintdrop.local"}
    full = mailpit.message(summary["ID"])
    assert "2 x Linen tee @ USD 25.00 = USD 50.00" in full["Text"]
    assert "Total paid: USD 50.00" in full["Text"]
    assert "<td>Linen tee</td>" in full["HTML"]
    row = OutgoingEmail.objects.get(to_address=order.buyer.email)
    assert row.status == EmailStatus.SENT and row.attempts == 1
    assert full["MessageID"] == row.message_id.strip("<>")
    headers = mailpit.headers(summary["ID"])
    assert "List-Unsubscribe" not in headers  # a receipt is transactional: no unsubscribe
    assert Notification.objects.filter(user=order.buyer, kind="receipt").count() == 1
    # nothing left to send; sending again sends nothing
    assert send_due().claimed == 0
    assert len(mailpit.to(order.buyer.email)) == 1


def test_header_injection_in_store_and_product_names_stays_inside_one_header(
    placed_order: Any, store: dict[str, Any], mailpit: MailpitApi, eager_celery: None
) -> None:
    victim = f"victim-{uuid.uuid4().hex[:8]}@mintdrop.test"
    merchant = store["merchant"]
    merchant.name = f"Evil Shop\r\nBcc: {victim}\r\nX-Injected: yes"
    merchant.save(update_fields=["name"])
    order = placed_order(title=f"Hat\r\nBcc: {victim}")
    deliver(order_event("order.paid", order))
    (summary,) = mailpit.wait_for(order.buyer.email)
    raw = mailpit.raw(summary["ID"])
    headers = mailpit.headers(summary["ID"])
    assert "X-Injected" not in headers and "Bcc" not in headers
    assert not summary.get("Bcc") and [t["Address"] for t in summary["To"]] == [order.buyer.email]
    assert summary["From"]["Name"] == f"Evil Shop Bcc: {victim} X-Injected: yes"
    header_block = raw.split("\r\n\r\n", 1)[0]
    assert "\nX-Injected" not in header_block and "\nBcc:" not in header_block
    assert mailpit.to(victim) == []  # nothing went to the injected address


def test_smtp_down_then_back_sends_exactly_once_with_backoff(
    placed_order: Any, tmp_path: Path, settings: Any
) -> None:
    server = PrivateMailpit(tmp_path).start()
    settings.EMAIL_PORT = server.smtp_port
    settings.NOTIFY_RETRY_BASE_SECONDS = 0.2
    try:
        order = placed_order()
        server.stop()  # the mail server goes away before the event is handled
        deliver(order_event("order.paid", order))
        first = send_due()
        assert (first.claimed, first.sent, first.failed) == (1, 0, 1)
        row = OutgoingEmail.objects.get(to_address=order.buyer.email)
        assert row.status == EmailStatus.PENDING and row.attempts == 1
        assert "Connection refused" in row.last_error or "Errno" in row.last_error
        assert row.next_attempt_at > timezone.now() - timedelta(seconds=1)
        assert send_due().claimed == 0  # not due yet: backoff
        server.start()  # same database file: whatever it had is still there
        _wait_due(row.pk)
        again = send_due()
        assert (again.claimed, again.sent) == (1, 1)
        assert send_due().claimed == 0
        found = server.api.wait_for(order.buyer.email)
        assert len(found) == 1
        row.refresh_from_db()
        assert row.status == EmailStatus.SENT and row.attempts == 2
    finally:
        server.stop()


def test_gives_up_after_max_attempts_into_a_dead_letter_with_the_reason_then_redrive(
    placed_order: Any, tmp_path: Path, settings: Any
) -> None:
    from notifications.services.mailer import redrive

    settings.EMAIL_PORT = PrivateMailpit(tmp_path).smtp_port  # nothing listens there
    settings.NOTIFY_RETRY_BASE_SECONDS = 0.01
    settings.NOTIFY_MAX_ATTEMPTS = 3
    order = placed_order()
    deliver(order_event("order.paid", order))
    row = OutgoingEmail.objects.get(to_address=order.buyer.email)
    for _ in range(3):
        _wait_due(row.pk)
        send_due()
    row.refresh_from_db()
    assert row.status == EmailStatus.DEAD and row.attempts == 3 and "refused" in row.last_error.lower()
    assert send_due().claimed == 0
    with override_settings(EMAIL_PORT=settings.EMAIL_PORT):
        assert redrive(email_ids=[row.pk]) == 1
    row.refresh_from_db()
    assert row.status == EmailStatus.PENDING and row.attempts == 0


def _wait_due(pk: int, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while OutgoingEmail.objects.filter(pk=pk, next_attempt_at__gt=timezone.now()).exists():
        assert time.monotonic() < deadline, "row never became due"
        time.sleep(0.05)


def test_a_sender_that_dies_after_the_smtp_ok_causes_one_resend_with_the_same_message_id(
    placed_order: Any, tmp_path: Path, settings: Any
) -> None:
    """The documented window of the guarantee: the server said 250 OK, the sender died before
    recording it. The row's lease runs out, the next sweep sends it again: exactly one extra copy,
    recognisable by its Message-ID; after that the row is sent and nothing more goes out."""
    import subprocess
    import sys

    from tests.payments.pipeline import child_env

    server = PrivateMailpit(tmp_path).start()
    try:
        order = placed_order()
        deliver(order_event("order.paid", order))
        crashing_sender = (
            "import os\n"
            "from django.core.mail import get_connection\n"
            "from notifications.services.mailer import build_message, claim_due\n"
            "(row,) = claim_due(limit=1)\n"
            "get_connection().send_messages([build_message(row)])\n"
            "os._exit(137)  # killed after the server accepted the message, before marking it sent\n"
        )
        env = {
            **child_env(),
            "EMAIL_PORT": str(server.smtp_port),
            "NOTIFY_SEND_LEASE_SECONDS": "0.5",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        died = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()\n" + crashing_sender],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert died.returncode == 137, died.stderr
        row = OutgoingEmail.objects.get(to_address=order.buyer.email)
        assert row.status == EmailStatus.PENDING and row.attempts == 1
        settings.EMAIL_PORT = server.smtp_port
        _wait_due(row.pk)
        assert send_due().sent == 1
        assert send_due().claimed == 0
        copies = server.api.wait_for(order.buyer.email, count=2)
        assert len(copies) == 2
        assert {c["MessageID"] for c in copies} == {row.message_id.strip("<>")}
        row.refresh_from_db()
        assert row.status == EmailStatus.SENT and row.attempts == 2
    finally:
        server.stop()
