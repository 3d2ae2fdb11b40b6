"""Kafka handlers of the realtime app: the `sales` projection and the diagnostics probe.

The `diagnostics` group is diagnostics only: it records each `diagnostics.ping` as a row, the
effect that crash tests count and `bench/pipeline.py` times. It has no business meaning.
"""

from datetime import datetime

from django.db import connection

from realtime.events import Event
from realtime.models import DiagnosticsPing
from realtime.projections import sales  # noqa: F401  (registers the live `sales` projection)
from realtime.registry import batch_form_of, handles

# WITH ORDINALITY + ORDER BY: rows get their ids in log order, as one-by-one inserts would.
_INSERT_PINGS = """
INSERT INTO realtime_diagnosticsping (event_id, key, seq, sent_at)
SELECT e.event_id, e.key, e.seq, e.sent_at
FROM unnest(%s::uuid[], %s::text[], %s::bigint[], %s::timestamptz[])
    WITH ORDINALITY AS e(event_id, key, seq, sent_at, n)
ORDER BY e.n
"""


@handles("diagnostics", "diagnostics.ping")
def record_ping(event: Event) -> None:
    """Diagnostics: one row per ping processed (no unique key, so a double effect would show)."""
    DiagnosticsPing.objects.create(
        event_id=event.id,
        key=event.key,
        seq=event.payload["seq"],
        sent_at=datetime.fromisoformat(event.payload["sent_at"]),
    )


@batch_form_of(record_ping)
def record_pings(events: list[Event]) -> None:
    """`record_ping` for many pings: one INSERT (the consumer's hot path in the pipeline benchmark)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_PINGS,
            [
                [e.id for e in events],
                [e.key for e in events],
                [e.payload["seq"] for e in events],
                [datetime.fromisoformat(e.payload["sent_at"]) for e in events],
            ],
        )
