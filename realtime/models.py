"""Tables of the event backbone."""

import uuid

from django.db import models
from django.db.models import Func, Value


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
