"""Rebuilding a read model from the start of the log into a fresh table (`manage.py replay <name>`).

The rebuild reads every partition of the projection's topics from the earliest offset up to the end
seen at start, with its own reader group and no commits (no side effect on live consumers). The log
is at-least-once, so events are de-duplicated by id, exactly as the live consumer's inbox does; the
same `apply()` as the live projection folds them into `<live table>_rebuild`, which is then compared
row by row with the live table.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from realtime.consumer_decode import decode_message
from realtime.contracts import all_contracts
from realtime.events import Event
from realtime.logreader import read_log
from realtime.projections import sales
from realtime.topics import topic_for_aggregate

APPLY_BATCH = 1000


@dataclass(frozen=True)
class Projection:
    name: str
    event_types: tuple[str, ...]
    live_table: str
    columns: tuple[str, ...]
    apply: Callable[..., None]

    @property
    def rebuild_table(self) -> str:
        return f"{self.live_table}_rebuild"

    def topics(self) -> list[str]:
        aggregates = {c.aggregate for c in all_contracts().values() if c.type in self.event_types}
        return sorted({topic_for_aggregate(a).full_name for a in aggregates})


PROJECTIONS: dict[str, Projection] = {
    sales.NAME: Projection(
        name=sales.NAME,
        event_types=sales.EVENT_TYPES,
        live_table=sales.LIVE_TABLE,
        columns=sales.COLUMNS,
        apply=sales.apply,
    ),
}


@dataclass
class ReplayResult:
    table: str
    messages: int = 0
    applied: int = 0
    duplicates: int = 0
    invalid: int = 0
    rows: int = 0
    differences: int = 0

    def summary(self) -> str:
        """What the replay read and wrote, in one line."""
        return (
            f"replayed {self.messages} message(s): {self.applied} applied, {self.duplicates} duplicate(s), "
            f"{self.invalid} invalid; {self.rows} row(s) in {self.table}"
        )

    def verdict(self) -> str:
        """The check: is the rebuild equal to the live projection?"""
        if self.differences:
            return f"{self.differences} row(s) differ from the live projection"
        return "equal to the live projection"


def _fresh_table(projection: Projection) -> str:
    quote = connection.ops.quote_name
    table = projection.rebuild_table
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quote(table)}")
        cursor.execute(f"CREATE TABLE {quote(table)} (LIKE {quote(projection.live_table)} INCLUDING ALL)")
    return table


def rebuild(name: str) -> ReplayResult:
    """Replay the log into a fresh copy of projection `name`'s table and compare it with the live one."""
    projection = PROJECTIONS[name]
    result = ReplayResult(table=_fresh_table(projection))
    seen: set[uuid.UUID] = set()
    pending: list[Event] = []

    def flush() -> None:
        with transaction.atomic():
            for event in pending:
                projection.apply(event, table=result.table)
        result.applied += len(pending)
        pending.clear()

    for msg in read_log(projection.topics(), reader=f"replay-{name}"):
        result.messages += 1
        decoded = decode_message(msg)
        event = decoded.event
        if event is None:
            result.invalid += 1  # the live consumer dead-letters these: no effect either
            continue
        if event.type not in projection.event_types:
            continue
        if event.id in seen:
            result.duplicates += 1
            continue
        seen.add(event.id)
        pending.append(event)
        if len(pending) >= APPLY_BATCH:
            flush()
    flush()
    result.differences = count_differences(projection, result.table)
    with connection.cursor() as cursor:
        # Table names are our own constants, quoted; never user input.
        cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(result.table)}")  # noqa: S608
        result.rows = cursor.fetchone()[0]
    return result


def count_differences(projection: Projection, table: str) -> int:
    """Rows present in one of (live table, `table`) and not the other, comparing every column."""
    quote = connection.ops.quote_name
    cols = ", ".join(quote(c) for c in projection.columns)
    live, other = quote(projection.live_table), quote(table)
    # Our own table and column names, quoted; never user input.
    sql = f"SELECT count(*) FROM ((SELECT {cols} FROM {live} EXCEPT SELECT {cols} FROM {other}) UNION ALL (SELECT {cols} FROM {other} EXCEPT SELECT {cols} FROM {live})) AS diff"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return int(cursor.fetchone()[0])
