"""Single-statement stock counter updates on DropItem (the hot rows of a drop).

Each function is one conditional UPDATE whose WHERE clause carries the invariant, so concurrent
transactions serialise on the row and re-check the condition against the latest committed
counters (PostgreSQL re-evaluates the WHERE of a blocked UPDATE). The CheckConstraints on
DropItem back the same invariants. Callers must be inside `transaction.atomic()`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor

from commerce.models import DropBuyer, DropItem, DropState, Reservation
from realtime.events import Event
from realtime.outbox import insert_cte as outbox_insert_cte
from realtime.outbox import insert_cte_params as outbox_params

_ITEM = DropItem._meta.db_table
_DROP = DropItem._meta.get_field("drop").related_model._meta.db_table
_BUYER = DropBuyer._meta.db_table


@dataclass(frozen=True)
class Counters:
    """A drop item's counters after a change, as the inventory.* events carry them."""

    item_id: int
    drop_id: int
    sku_id: int
    offered: int
    reserved: int
    sold: int

    @property
    def available(self) -> int:
        return self.offered - self.reserved - self.sold

    def as_payload(self) -> dict[str, int]:
        return {
            "offered": self.offered,
            "reserved": self.reserved,
            "sold": self.sold,
            "available": self.available,
        }


_RETURNING = "RETURNING di.id, di.drop_id, di.sku_id, di.offered, di.reserved, di.sold"


def _one(sql: str, params: Sequence[Any]) -> Counters | None:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return Counters(*row) if row else None


def take_free_units_as_sold(*, item_id: int, quantity: int) -> Counters | None:
    """Sell free units directly (a paid order whose reservation had expired); None if not enough."""
    return _one(
        f"UPDATE {_ITEM} di SET sold = di.sold + %s WHERE di.id = %s "  # noqa: S608
        f"AND di.reserved + di.sold + %s <= di.offered {_RETURNING}",
        [quantity, item_id, quantity],
    )


def adjust_units(*, item_id: int, reserved: int = 0, sold: int = 0, offered: int = 0) -> Counters:
    """Apply deltas known to be valid (release, reserved->sold, restock); constraints still guard."""
    counters = _one(
        f"UPDATE {_ITEM} di SET reserved = di.reserved + %s, sold = di.sold + %s, "  # noqa: S608
        f"offered = di.offered + %s WHERE di.id = %s {_RETURNING}",
        [reserved, sold, offered, item_id],
    )
    assert counters is not None, f"drop item {item_id} vanished"
    return counters


def adjust_buyer_units(*, drop_id: int, buyer_id: int, delta: int) -> None:
    """Give units back to (negative delta) or force them onto (positive) a buyer's counter."""
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {_BUYER} (drop_id, buyer_id, units) VALUES (%s, %s, GREATEST(%s, 0)) "  # noqa: S608
            f"ON CONFLICT (drop_id, buyer_id) DO UPDATE SET units = GREATEST({_BUYER}.units + %s, 0)",
            [drop_id, buyer_id, delta, delta],
        )


_RESERVATION = Reservation._meta.db_table
_LIVE = DropState.LIVE.value

# The inventory.reserved event's counters, as the item's UPDATE returned them (CTE `i`).
RESERVED_COUNTERS = {
    "offered": "i.offered",
    "reserved": "i.reserved",
    "sold": "i.sold",
    "available": "i.offered - i.reserved - i.sold",
}
_OUTBOX_ROW = outbox_insert_cte(source="i", computed=RESERVED_COUNTERS)

# The whole successful reserve in one round trip. Data-modifying CTEs always run to completion,
# so each write is chained to the previous one's RETURNING rows: nothing is written unless the
# snapshot says the drop is open with free stock (the common refusal in a stampede writes
# nothing), the item row is only touched once the buyer's counter accepted the units, and the
# reservation and outbox rows only exist if the item's conditional UPDATE matched. The buyer row
# is locked before the item row, the order every other path takes them in. The final SELECT
# also returns what a refusal needs to explain itself (snapshot of drop, item and buyer; whether
# expired reservations hold the item), computed only when the reserve did not happen.
_RESERVE_SQL = f"""
WITH d AS (
  SELECT id, state, starts_at, ends_at, per_buyer_limit FROM {_DROP} WHERE id = %(drop)s
), i0 AS (
  SELECT id, offered, reserved, sold FROM {_ITEM} WHERE drop_id = %(drop)s AND sku_id = %(sku)s
), go AS (
  SELECT 1 FROM d, i0 WHERE d.state = '{_LIVE}' AND d.starts_at <= %(now)s
    AND (d.ends_at IS NULL OR d.ends_at > %(now)s) AND %(q)s <= d.per_buyer_limit
    AND i0.reserved + i0.sold + %(q)s <= i0.offered
), b AS (
  INSERT INTO {_BUYER} (drop_id, buyer_id, units) SELECT %(drop)s, %(buyer)s, %(q)s FROM go
  ON CONFLICT (drop_id, buyer_id) DO UPDATE SET units = {_BUYER}.units + EXCLUDED.units
  WHERE {_BUYER}.units + EXCLUDED.units <= (SELECT per_buyer_limit FROM d)
  RETURNING units
), i AS (
  UPDATE {_ITEM} di SET reserved = di.reserved + %(q)s FROM {_DROP} dd
  WHERE di.id = (SELECT id FROM i0) AND EXISTS (SELECT 1 FROM b) AND dd.id = di.drop_id
    AND dd.state = '{_LIVE}' AND dd.starts_at <= %(now)s AND (dd.ends_at IS NULL OR dd.ends_at > %(now)s)
    AND di.reserved + di.sold + %(q)s <= di.offered
  RETURNING di.id, di.offered, di.reserved, di.sold
), r AS (
  INSERT INTO {_RESERVATION} (id, drop_id, item_id, buyer_id, quantity, status, expires_at,
    order_id, release_reason, created_at, closed_at)
  SELECT %(rid)s, %(drop)s, i.id, %(buyer)s, %(q)s, 'active', %(expires)s, NULL, '', %(now)s, NULL FROM i
), o AS (
  {_OUTBOX_ROW}
)
SELECT (SELECT units FROM b), EXISTS (SELECT 1 FROM go), i.id, i.offered, i.reserved, i.sold,
  d.id, d.state, d.starts_at, d.ends_at, d.per_buyer_limit,
  i0.id, i0.offered - i0.reserved - i0.sold,
  CASE WHEN i.id IS NULL THEN (SELECT units FROM {_BUYER} WHERE drop_id = %(drop)s AND buyer_id = %(buyer)s) END,
  CASE WHEN i.id IS NULL AND i0.id IS NOT NULL THEN EXISTS (
    SELECT 1 FROM {_RESERVATION} x WHERE x.item_id = i0.id AND x.status = 'active' AND x.expires_at <= %(now)s
  ) END
FROM (SELECT 1) one LEFT JOIN d ON true LEFT JOIN i0 ON true LEFT JOIN i ON true
"""  # noqa: S608 (table names are ours; values are bound parameters)


def _prepared_cursor() -> Any:
    """A server-side-binding cursor on Django's connection: psycopg prepares a statement it has
    run `prepare_threshold` (5) times on this connection, so the reserve statement's parse and
    plan happen once per (persistent) connection instead of once per request. Wrapped like any
    Django cursor, so query logging and CaptureQueriesContext still see it."""
    connection.ensure_connection()
    raw = ServerBindingCursor(connection.connection)  # type: ignore[call-arg]
    return connection._prepare_cursor(raw)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ReserveOutcome:
    """What the one-statement reserve did, and (when refused) what it saw."""

    attempted: bool  # the snapshot said open with free stock, so the buyer's counter was tried
    buyer_claimed: bool  # the buyer's counter took the units (undo it if `counters` is None)
    counters: Counters | None  # the item's counters after the reserve; None when refused
    drop: dict[str, Any] | None  # snapshot: state, starts_at, ends_at, per_buyer_limit (None: no drop)
    item_found: bool
    available: int  # snapshot of the item's free units (0 when there is no item)
    buyer_units: int  # snapshot of the buyer's units in this drop (may miss uncommitted claims)
    has_expired: bool  # expired reservations still hold units of the item


def reserve_in_one_statement(
    *,
    drop_id: int,
    sku_id: int,
    buyer_id: int,
    quantity: int,
    now: Any,
    reservation_id: Any,
    expires_at: Any,
    event: Event,
    aggregate: str,
) -> ReserveOutcome:
    """Claim the buyer's units, reserve the item's units, insert the reservation and its event.

    `event` is the inventory.reserved Event already prepared (validated) with placeholder counters;
    the database puts the item's real counters (`RESERVED_COUNTERS`) in their place. Callers must be inside
    `transaction.atomic()` and must undo the buyer claim (`adjust_buyer_units`) when
    `buyer_claimed` is true but `counters` is None (the item ran out between snapshot and lock).
    """
    params = {
        "drop": drop_id, "sku": sku_id, "buyer": buyer_id, "q": quantity, "now": now,
        "rid": reservation_id, "expires": expires_at,
        **outbox_params(event, aggregate, computed=RESERVED_COUNTERS),
    }  # fmt: skip
    with _prepared_cursor() as cur:
        cur.execute(_RESERVE_SQL, params)
        row = cur.fetchone()
    (units, attempted, item_id, offered, reserved, sold, d_id, state, starts_at, ends_at, limit,
     i0_id, available, buyer_units, has_expired) = row  # fmt: skip
    counters = Counters(item_id, drop_id, sku_id, offered, reserved, sold) if item_id is not None else None
    drop = (
        {"state": state, "starts_at": starts_at, "ends_at": ends_at, "per_buyer_limit": limit}
        if d_id is not None
        else None
    )
    return ReserveOutcome(
        attempted=bool(attempted),
        buyer_claimed=units is not None,
        counters=counters,
        drop=drop,
        item_found=i0_id is not None,
        available=int(available or 0),
        buyer_units=int(buyer_units or 0),
        has_expired=bool(has_expired),
    )
