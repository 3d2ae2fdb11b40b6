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
# Outbox partitions: a key always hashes to the same one; each is published by one relay at a time
# (the relay that holds its advisory lock), so relays scale out without breaking per-key order.
# Changing it re-homes keys: only with every relay stopped and the outbox fully published.
OUTBOX_PARTITIONS = 8


class CurrentXactId(Func):
    """`pg_current_xact_id()`: the (64-bit) id of the writing transaction, for the snapshot relay."""

    function = "pg_current_xact_id"
    output_field = models.BigIntegerField()
    template = "%(function)s()"


class Xid8Field(models.BigIntegerField):
    """A PostgreSQL `xid8` (64-bit transaction id); read as text, compared only in SQL."""

    def db_type(self, connection: object) -> str:
        return "xid8"

    def from_db_value(self, value: object, expression: object, connection: object) -> int | None:
        return None if value is None else int(str(value))

    def get_db_prep_value(self, value: object, connection: object, prepared: bool = False) -> object:
        return value if value is None else str(value)


class OutboxEvent(models.Model):
    """An event written in the same transaction as the change it describes (Debezium layout).

    `sequence` is taken at insert but becomes visible at commit, so it may have gaps and rows may
    appear out of order: no relay reads "after the last sequence seen". The snapshot relay
    (realtime/relay.py) publishes by transaction visibility instead: `xid` is the writing
    transaction's id, and a row is published in the window of the first relay snapshot it is
    visible in; nothing is written back to the row. `published_at` is only set by the legacy
    marking relay (RELAY_MODE=mark), and read once when the snapshot relay takes over an outbox.
    `partition` is a hash of the key: the unit a relay owns.
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
    xid = Xid8Field(editable=False, db_default=CurrentXactId())
    partition = models.GeneratedField(
        # hashtext() is immutable; "& (n - 1)" keeps negative hashes in range (n is a power of two).
        expression=Func(
            "aggregateid",
            template=f"(hashtext(%(expressions)s) & {OUTBOX_PARTITIONS - 1})::smallint",
            output_field=models.SmallIntegerField(),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["sequence"]
        indexes = [
            models.Index(fields=["partition", "xid"], name="outbox_partition_xid_idx"),
            models.Index(
                fields=["sequence"],
                name="outbox_unpublished_idx",
                condition=models.Q(published_at__isnull=True),
            ),
            models.Index(fields=["aggregatetype", "aggregateid"], name="outbox_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence} ({self.aggregatetype} {self.aggregateid})"


class RelayProgress(models.Model):
    """How far the snapshot relay got in one outbox partition: one row per partition, one update per window.

    Rows of the partition visible in `snapshot_lo` are published. The open window is the rows visible
    in `snapshot_hi` but not in `snapshot_lo`, published in `sequence` order; `window` numbers it and
    `after_sequence`/`after_index` say how far into it a crashed relay got. A message's outbox position
    (header `outbox-pos`) is (window, index): the same on a re-publish after a crash, so consumers
    can drop the copy.
    """

    partition = models.SmallIntegerField(primary_key=True)
    snapshot_lo = models.TextField()  # pg_snapshot as text
    snapshot_hi = models.TextField(null=True, blank=True)
    window = models.BigIntegerField(default=0)
    after_sequence = models.BigIntegerField(default=0)
    after_index = models.IntegerField(default=0)
    epoch = models.BigIntegerField(default=0)  # set once when the row is created (microseconds)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name_plural = "relay progress"

    def __str__(self) -> str:
        return f"outbox partition {self.partition}: window {self.window}"


class ConsumerOffset(models.Model):
    """Next Kafka offset of (group, topic, partition), committed in the transaction of the effects.

    The consumer seeks here on assignment, so a message whose effect committed is never applied
    again by this group; `outbox_positions[p]` is the last outbox position applied from relay
    partition p in this Kafka partition (drops a relay's re-published copies, see RelayProgress).
    """

    group = models.CharField(max_length=100)
    topic = models.CharField(max_length=255)
    partition = models.IntegerField()
    next_offset = models.BigIntegerField()  # -1: nothing applied under this design yet
    outbox_positions = models.JSONField(default=dict)
    # Messages below this offset go through the inbox as well: the high watermark when the group
    # first met this partition under offsets-in-PostgreSQL (its earlier consumer used the inbox only).
    inbox_until = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "topic", "partition"], name="consumer_offset_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.group} {self.topic}[{self.partition}] -> {self.next_offset}"


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
