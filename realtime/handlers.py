"""Kafka handlers of the realtime app: the `sales` projection and the diagnostics probe.

The `diagnostics` group is diagnostics only: it records each `diagnostics.ping` as a row, the
effect that crash tests count and `bench/pipeline.py` times. It has no business meaning.
"""

import json
from datetime import datetime

from config.db.prepared import prepared_cursor
from realtime.events import Event
from realtime.models import DiagnosticsPing
from realtime.projections import sales  # noqa: F401  (registers the live `sales` projection)
from realtime.registry import batch_form_of, handles

# One JSON array for all pings (one string to quote; SQL arrays cost a regex pass per element).
# ORDER BY the position: rows get their ids in log order, as one-by-one inserts would.
_INSERT_PINGS = """
INSERT INTO realtime_diagnosticsping (event_id, key, seq, sent_at)
SELECT e.event_id, e.key, e.seq, e.sent_at
FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS (event_id uuid, key text, seq bigint, sent_at timestamptz))
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
    # `sent_at` is parsed here exactly as record_ping does, and handed on in ISO form.
    rows = [
        {
            "event_id": str(e.id),
            "key": e.key,
            "seq": e.payload["seq"],
            "sent_at": datetime.fromisoformat(e.payload["sent_at"]).isoformat(),
        }
        for e in events
    ]
    with prepared_cursor() as cursor:
        cursor.execute(_INSERT_PINGS, [json.dumps(rows)])
