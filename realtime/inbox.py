"""The inbox: which events a consumer group has already processed (its de-duplication table)."""

from uuid import UUID

from django.db import connection, transaction

from realtime.events import Event

_CLAIM_SQL = """
INSERT INTO realtime_inboxentry ("group", event_id, event_type)
SELECT %s, e.id, e.type FROM unnest(%s::uuid[], %s::text[]) AS e(id, type)
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
        cursor.execute(_CLAIM_SQL, [group, [e.id for e in events], [e.type for e in events]])
        return {row[0] for row in cursor.fetchall()}
