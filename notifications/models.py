"""Notifications: the e-mail outbox, the in-app notification centre, opt-outs, verified addresses."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from notifications.categories import Category


class EmailStatus(models.TextChoices):
    PENDING = "pending"  # waiting to be sent (first try or a retry at next_attempt_at)
    SENT = "sent"  # the SMTP server accepted it
    DEAD = "dead"  # gave up after NOTIFY_MAX_ATTEMPTS (or it can never be sent): see last_error


class OutgoingEmail(models.Model):
    """One e-mail to one recipient, written in the transaction that decided to send it (an outbox row).

    `key` is unique: for mail caused by an event it is "<dedupe key>:<user id>" (the dedupe key is the
    event id, or a business key such as a mint's order line), so the same event delivered N times
    writes one row. The body is rendered when the row is written, so a retry sends the same message,
    with the same Message-ID.
    """

    key = models.CharField(max_length=200, unique=True)
    event_id = models.UUIDField(null=True, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=40)
    category = models.CharField(max_length=20, choices=Category.choices)
    from_name = models.CharField(max_length=200)
    to_address = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    text_body = models.TextField()
    html_body = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    message_id = models.CharField(max_length=250)
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="notif_email_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_address} ({self.status})"


class Notification(models.Model):
    """One entry of a user's in-app notification centre (the same facts as the e-mail)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    key = models.CharField(max_length=200)  # the dedupe key of the event (see OutgoingEmail.key)
    event_id = models.UUIDField(null=True, blank=True)
    kind = models.CharField(max_length=40)
    category = models.CharField(max_length=20, choices=Category.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    warning = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notif_one_per_user_key")]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notif_user_recent_idx"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notif_user_unread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for user {self.user_id}"


class EmailOptOut(models.Model):
    """The user does not want e-mail of `category` (transactional categories ignore it)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=20, choices=Category.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "category"], name="notif_one_optout")]

    def __str__(self) -> str:
        return f"user {self.user_id} opted out of {self.category}"


class VerifiedEmail(models.Model):
    """The address the user proved they read; mail goes only to a verified current address."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(max_length=254)
    verified_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.email} verified for user {self.user_id}"
