"""The inbox: which events a consumer group has already processed (its de-duplication table)."""

import json
from uuid import UUID

from django.db import connection, transaction

from realtime.events import Event

# The events travel as one JSON array: one string to quote, where SQL arrays cost the client a
# regex pass per element (the consumer's hot path claims hundreds of events per transaction).
_CLAIM_SQL = """
INSERT INTO realtime_inboxentry ("group", event_id, event_type)
SELECT %s, e.id, e.type FROM jsonb_to_recordset(%s::jsonb) AS e(id uuid, type text)
ON CONFLICT ("group", event_id) DO NOTHING
RETURNING event_id
"""


def claim_events(*, group: str, events: list[Event]) -> set[UUID]:
    """Record `events` as processed by `group`; return the ids that were not recorded before.

    Must run inside the transaction that applies the handlers' effects, so "seen" and the effect
    commit (or roll back) together; an id that is already there means: skip, it was done.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("claim_events() must run inside the handler's transaction.atomic()")
    if not events:
        return set()
    with connection.cursor() as cursor:
        rows = json.dumps([{"id": str(e.id), "type": e.type} for e in events])
        cursor.execute(_CLAIM_SQL, [group, rows])
        return {row[0] for row in cursor.fetchall()}
