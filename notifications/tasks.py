"""Celery tasks of notifications: they only call the mailer service."""

from celery import shared_task

from notifications.services.mailer import send_due


@shared_task(name="notifications.tasks.send_due_emails", ignore_result=True)
def send_due_emails() -> int:
    """Send every e-mail row that is due (after a commit, and every NOTIFY_SWEEP_SECONDS from beat)."""
    total = 0
    while True:
        report = send_due()
        total += report.sent
        if report.claimed == 0 or report.sent == 0:
            return total
