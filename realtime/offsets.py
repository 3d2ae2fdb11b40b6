"""Consumer offsets kept in PostgreSQL, committed in the same transaction as the effects.

One row per (group, topic, partition): the next offset to apply, and per outbox partition the last
outbox position applied from this Kafka partition (see realtime/relay.py, header `outbox-pos`).
The consumer runner (realtime/consumer.py):

- on assignment, seeks every partition that has a row to its `next_offset` (`seek_positions`);
- in each effect transaction, locks the rows of the batch's partitions (`lock`), asks `admit()`
  about each message in log order, and writes the rows back (`save`) before the commit.

`admit()` says `DUPLICATE` for a message below `next_offset` (another member of the group applied
it before a rebalance reached us) and for a relay's re-published copy (an outbox position not after
the last one applied from that outbox partition in this Kafka partition: a relay re-publishes a
window with the same positions, in the same order). It says `INBOX` where the offsets alone cannot
tell: a message without a position (published by the marking relay, re-driven from the dead-letter
topic, produced by hand), a group whose effects leave the database (CONSUMER_INBOX_GROUPS), and
messages below `inbox_until` (written when a group that used the inbox before meets a partition
for the first time: what its earlier consumer may have applied is checked against the inbox).
"""

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from django.db import connection

from config.db.prepared import prepared_cursor
from realtime.relay import POSITION_HEADER

Position = tuple[str, int]  # (topic, partition)


class Verdict(Enum):
    APPLY = "apply"
    INBOX = "inbox"  # apply if the inbox claim succeeds
    DUPLICATE = "duplicate"


@dataclass
class PartitionState:
    next_offset: int  # -1: nothing applied under offsets-in-PostgreSQL yet
    positions: dict[str, list[int]] = field(
        default_factory=dict
    )  # outbox partition -> [epoch, window, index]
    inbox_until: int = 0
    changed: bool = False


_CREATE_SQL = """
INSERT INTO realtime_consumeroffset ("group", topic, partition, next_offset, outbox_positions, inbox_until,
    updated_at)
SELECT %s, k.topic, k.partition, -1, '{}'::jsonb, k.inbox_until, now()
FROM jsonb_to_recordset(%s::jsonb) AS k(topic text, partition integer, inbox_until bigint)
ON CONFLICT ("group", topic, partition) DO NOTHING
"""
_READ_SQL = """
SELECT o.topic, o.partition, o.next_offset, o.outbox_positions, o.inbox_until
FROM realtime_consumeroffset o
JOIN jsonb_to_recordset(%s::jsonb) AS k(topic text, partition integer)
  ON o.topic = k.topic AND o.partition = k.partition
WHERE o."group" = %s
ORDER BY o.topic, o.partition
"""
_LOCK_SQL = _READ_SQL + " FOR UPDATE OF o"
_SAVE_SQL = """
UPDATE realtime_consumeroffset o SET next_offset = s.next_offset, outbox_positions = s.positions,
    updated_at = now()
FROM jsonb_to_recordset(%s::jsonb) AS s(topic text, partition integer, next_offset bigint, positions jsonb)
WHERE o."group" = %s AND o.topic = s.topic AND o.partition = s.partition
"""


def _keys(positions: list[Position]) -> str:
    return json.dumps([{"topic": t, "partition": p} for t, p in sorted(set(positions))])


def _read(group: str, positions: list[Position], *, lock: bool) -> dict[Position, PartitionState]:
    with prepared_cursor() as cursor:  # every batch: planned once per connection
        cursor.execute(_LOCK_SQL if lock else _READ_SQL, [_keys(positions), group])
        rows = cursor.fetchall()
    states = {}
    for topic, partition, next_offset, stored, inbox_until in rows:
        stored = json.loads(stored) if isinstance(stored, str) else stored
        states[(topic, partition)] = PartitionState(int(next_offset), dict(stored or {}), int(inbox_until))
    return states


def create(group: str, inbox_until: dict[Position, int]) -> None:
    """Rows for partitions this group never stored (no-op for those it did)."""
    if not inbox_until:
        return
    rows = [{"topic": t, "partition": p, "inbox_until": n} for (t, p), n in sorted(inbox_until.items())]
    with connection.cursor() as cursor:
        cursor.execute(_CREATE_SQL, [group, json.dumps(rows)])


def stored(group: str, positions: list[Position]) -> dict[Position, PartitionState]:
    """The rows of `positions` that exist (read without locking: for seek on assignment)."""
    return _read(group, positions, lock=False) if positions else {}


def lock(group: str, positions: list[Position]) -> dict[Position, PartitionState]:
    """Lock (in a fixed order) and read the rows of `positions`; inside the effect transaction."""
    states = _read(group, positions, lock=True)
    missing = {p: 0 for p in positions if p not in states}
    if missing:  # never created at assignment (e.g. rows deleted by hand): create, then lock
        create(group, missing)
        states.update(_read(group, list(missing), lock=True))
    return states


def parse_position(value: str | None) -> tuple[str, int, int, int] | None:
    """`outbox-pos` "<outbox partition>:<epoch>:<window>:<index>" -> its parts; None if absent/bad."""
    if not value:
        return None
    parts = value.split(":")
    if len(parts) != 4:
        return None
    try:
        return parts[0], int(parts[1]), int(parts[2]), int(parts[3])
    except ValueError:
        return None


def admit(
    state: PartitionState, offset: int, headers: dict[str, str], *, inbox_group: bool, redriven: bool
) -> Verdict:
    """Decide about the message at `offset` (called in log order) and move `state` past it."""
    if offset < state.next_offset:
        return Verdict.DUPLICATE
    state.next_offset = offset + 1
    state.changed = True
    position = None if redriven else parse_position(headers.get(POSITION_HEADER))
    if position is None:
        return Verdict.INBOX
    outbox_partition, epoch, window, index = position
    last = state.positions.get(outbox_partition)
    if last is not None and last[0] == epoch and (window, index) <= (last[1], last[2]):
        return Verdict.DUPLICATE
    state.positions[outbox_partition] = [epoch, window, index]
    if inbox_group or offset < state.inbox_until:
        return Verdict.INBOX
    return Verdict.APPLY


def advance(state: PartitionState, offset: int) -> None:
    """A message finished without an effect (skipped, dead-lettered): do not read it again."""
    if offset >= state.next_offset:
        state.next_offset = offset + 1
        state.changed = True


def save(group: str, states: dict[Position, PartitionState]) -> None:
    """Write the changed rows back (same transaction as the effects)."""
    rows: list[dict[str, Any]] = [
        {"topic": t, "partition": p, "next_offset": s.next_offset, "positions": s.positions}
        for (t, p), s in sorted(states.items())
        if s.changed
    ]
    if rows:
        with prepared_cursor() as cursor:
            cursor.execute(_SAVE_SQL, [json.dumps(rows), group])
