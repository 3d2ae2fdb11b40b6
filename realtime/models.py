"""Tables of the event backbone."""

import uuid

from django.db import models
from django.db.models import Func, Value
from django.db.models.functions import Now


class NextVal(Func):
    """`nextval('<sequence>')`: a sequence number taken by PostgreSQL at insert."""

    function = "nextval"
    output_field = models.BigIntegerField()


OUTBOX_SEQUENCE = "realtime_outbox_sequence"


class OutboxEvent(models.Model):
    """An event written in the same transaction as the change it describes (Debezium layout).

    The relay publishes rows in `sequence` order and marks each one after Kafka acknowledged it.
    `sequence` is taken at insert but becomes visible at commit, so it may have gaps and rows may
    appear out of order: the relay works from the `published_at IS NULL` rows, never from a
    "last sequence seen" high-water mark.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sequence = models.BigIntegerField(unique=True, editable=False, db_default=NextVal(Value(OUTBOX_SEQUENCE)))
    aggregatetype = models.CharField(max_length=50)
    aggregateid = models.CharField(max_length=200)
    type = models.CharField(max_length=100)
    version = models.PositiveSmallIntegerField(default=1)
    payload = models.JSONField()
    trace_id = models.CharField(max_length=64)
    # W3C traceparent of the span that emitted the event ("" with tracing off); see realtime/tracing.py
    traceparent = models.CharField(max_length=128, blank=True, default="", db_default="")
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sequence"]
        indexes = [
            models.Index(
                fields=["sequence"],
                name="outbox_unpublished_idx",
                condition=models.Q(published_at__isnull=True),
            ),
            models.Index(fields=["aggregatetype", "aggregateid"], name="outbox_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence} ({self.aggregatetype} {self.aggregateid})"


class InboxEntry(models.Model):
    """Consumer group `group` has processed event `event_id`; written in the handler's transaction.

    The unique (group, event_id) pair makes a redelivered event a no-op: its insert conflicts and
    the runner skips the handlers.
    """

    group = models.CharField(max_length=100)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    processed_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "event_id"], name="inbox_group_event_uniq")]
        verbose_name_plural = "inbox entries"

    def __str__(self) -> str:
        return f"{self.group}: {self.event_type} {self.event_id}"


class DeadLetter(models.Model):
    """A message a consumer group sent to the dead-letter topic, kept for the admin to inspect and re-drive."""

    group = models.CharField(max_length=100)
    topic = models.CharField(max_length=255)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    key = models.TextField(null=True, blank=True)
    value = models.BinaryField()
    headers = models.JSONField(default=dict)
    event_id = models.CharField(max_length=64, blank=True, default="")
    event_type = models.CharField(max_length=100, blank=True, default="")
    error_code = models.CharField(max_length=100)
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    failed_at = models.DateTimeField(db_default=Now())
    redriven_at = models.DateTimeField(null=True, blank=True)
    redrive_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-failed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "topic", "partition", "offset"], name="deadletter_position_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.group} {self.topic}[{self.partition}]@{self.offset}: {self.error_code}"


class SalesByDrop(models.Model):
    """Read model "sales per drop" (group `sales`): units and gross amount per drop and currency.

    Built only from `inventory.sold` events, so `manage.py replay sales` can rebuild it from the log.
    """

    drop_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    units = models.BigIntegerField(default=0)
    gross = models.BigIntegerField(default=0)
    sales = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["drop_id", "currency"], name="sales_drop_currency_uniq")
        ]
        verbose_name_plural = "sales by drop"

    def __str__(self) -> str:
        return f"drop {self.drop_id}: {self.units} units, {self.gross} {self.currency}"


class DiagnosticsPing(models.Model):
    """Diagnostics only: one row per processed `diagnostics.ping` (the effect tests and the benchmark count).

    Deliberately no unique constraint on `event_id`: a duplicate effect must show up as a second row.
    """

    event_id = models.UUIDField(db_index=True)
    key = models.CharField(max_length=200)
    seq = models.BigIntegerField()
    sent_at = models.DateTimeField()
    applied_at = models.DateTimeField(
        db_default=Func(function="clock_timestamp", output_field=models.DateTimeField())
    )

    def __str__(self) -> str:
        return f"ping {self.key}#{self.seq}"
