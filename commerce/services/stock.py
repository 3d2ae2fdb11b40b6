"""Single-statement stock counter updates on the stock rows of a drop (the hot rows).

A drop item's stock lives in its DropItem row, or — for a hot item that was split — mostly in
several StockShard rows (`commerce.services.stock_split`); the item's counters are the sum. Each
function is one conditional UPDATE whose WHERE clause carries the invariant, so concurrent
transactions serialise on a row and re-check the condition against the latest committed counters
(PostgreSQL re-evaluates the WHERE of a blocked UPDATE). The CheckConstraints on DropItem and
StockShard back the same invariants per row, so the item is never oversold either. A reserve
takes a shard nobody else holds (`FOR UPDATE SKIP LOCKED`), so winners commit in parallel.
Callers must be inside `transaction.atomic()`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from commerce.models import DropBuyer, DropItem, DropState, Reservation, StockShard
from config.db.prepared import prepared_cursor
from realtime.events import Event
from realtime.outbox import insert_cte as outbox_insert_cte
from realtime.outbox import insert_cte_params as outbox_params

_ITEM = DropItem._meta.db_table
_DROP = DropItem._meta.get_field("drop").related_model._meta.db_table
_BUYER = DropBuyer._meta.db_table
_SHARD = StockShard._meta.db_table


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

# An item's counters with one shard `s` just changed: the item row + `s` as updated + the other
# shards as of the statement's snapshot (exact for the changed rows; others may lag by in-flight
# commits, which only ever concerns what the event shows, never what is allowed).
_SHARD_TOTALS = f"""
SELECT di.id, di.drop_id, di.sku_id, di.offered + s.offered + COALESCE(o.offered, 0),
  di.reserved + s.reserved + COALESCE(o.reserved, 0), di.sold + s.sold + COALESCE(o.sold, 0), s.id
FROM s JOIN {_ITEM} di ON di.id = s.item_id
LEFT JOIN LATERAL (SELECT sum(x.offered) AS offered, sum(x.reserved) AS reserved, sum(x.sold) AS sold
  FROM {_SHARD} x WHERE x.item_id = s.item_id AND x.id <> s.id) o ON true
"""  # noqa: S608


# The same after a change to the item's own row (CTE `u`): plus all its shards (none: no change).
_ITEM_TOTALS = f"""
SELECT u.id, u.drop_id, u.sku_id, u.offered + COALESCE(o.offered, 0), u.reserved + COALESCE(o.reserved, 0),
  u.sold + COALESCE(o.sold, 0)
FROM u LEFT JOIN LATERAL (SELECT sum(x.offered) AS offered, sum(x.reserved) AS reserved, sum(x.sold) AS sold
  FROM {_SHARD} x WHERE x.item_id = u.id) o ON true
"""  # noqa: S608


def _one(sql: str, params: Sequence[Any]) -> Counters | None:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return Counters(*row[:6]) if row else None


def item_counters(*, item_id: int) -> Counters:
    """The item's counters now: its own row plus all its shards (a read; lock the drop to serialise)."""
    counters = _one(
        f"SELECT di.id, di.drop_id, di.sku_id, di.offered + COALESCE(sum(s.offered), 0), "  # noqa: S608
        f"di.reserved + COALESCE(sum(s.reserved), 0), di.sold + COALESCE(sum(s.sold), 0) "
        f"FROM {_ITEM} di LEFT JOIN {_SHARD} s ON s.item_id = di.id WHERE di.id = %s GROUP BY di.id",
        [item_id],
    )
    assert counters is not None, f"drop item {item_id} vanished"
    return counters


def take_free_units_as_sold(*, item_id: int, quantity: int) -> tuple[Counters, int | None] | None:
    """Sell free units directly (a paid order whose reservation had expired).

    Returns the item's counters and the shard the units came from (None: the item's own row),
    or None if no stock row has `quantity` free units.
    """
    counters = _one(
        f"WITH u AS (UPDATE {_ITEM} di SET sold = di.sold + %s WHERE di.id = %s "  # noqa: S608
        f"AND di.reserved + di.sold + %s <= di.offered {_RETURNING}) {_ITEM_TOTALS}",
        [quantity, item_id, quantity],
    )
    if counters is not None:
        return counters, None
    # A shard nobody holds first; only then wait for one (rare: a payment after the hold expired).
    for lock in ("FOR UPDATE SKIP LOCKED", "FOR UPDATE"):
        with connection.cursor() as cur:
            cur.execute(
                f"WITH s AS (UPDATE {_SHARD} sh SET sold = sh.sold + %(q)s WHERE sh.id = ("  # noqa: S608
                f"SELECT id FROM {_SHARD} WHERE item_id = %(item)s AND reserved + sold + %(q)s <= offered "
                f"ORDER BY index LIMIT 1 {lock}) AND sh.reserved + sh.sold + %(q)s <= sh.offered "
                f"RETURNING sh.id, sh.item_id, sh.offered, sh.reserved, sh.sold) {_SHARD_TOTALS}",
                {"q": quantity, "item": item_id},
            )
            row = cur.fetchone()
        if row is not None:
            return Counters(*row[:6]), int(row[6])
    return None


def adjust_units(
    *, item_id: int, shard_id: int | None = None, reserved: int = 0, sold: int = 0, offered: int = 0
) -> Counters:
    """Apply deltas known to be valid (release, reserved->sold, restock) to one stock row.

    `shard_id` None is the item's own row. Returns the item's counters (shards included);
    constraints still guard.
    """
    if shard_id is not None:
        with connection.cursor() as cur:
            cur.execute(
                f"WITH s AS (UPDATE {_SHARD} sh SET reserved = sh.reserved + %s, sold = sh.sold + %s, "  # noqa: S608
                f"offered = sh.offered + %s WHERE sh.id = %s AND sh.item_id = %s "
                f"RETURNING sh.id, sh.item_id, sh.offered, sh.reserved, sh.sold) {_SHARD_TOTALS}",
                [reserved, sold, offered, shard_id, item_id],
            )
            row = cur.fetchone()
        assert row is not None, f"stock shard {shard_id} of item {item_id} vanished"
        return Counters(*row[:6])
    counters = _one(
        f"WITH u AS (UPDATE {_ITEM} di SET reserved = di.reserved + %s, sold = di.sold + %s, "  # noqa: S608
        f"offered = di.offered + %s WHERE di.id = %s {_RETURNING}) {_ITEM_TOTALS}",
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

# The inventory.reserved event's counters, for the stock row the reserve took (CTE `c`).
RESERVED_COUNTERS = {
    "offered": "c.offered",
    "reserved": "c.reserved",
    "sold": "c.sold",
    "available": "c.offered - c.reserved - c.sold",
}
_OUTBOX_ROW = outbox_insert_cte(source="c", computed=RESERVED_COUNTERS)

# The whole successful reserve in one round trip. Data-modifying CTEs always run to completion,
# so each write is chained to the previous one's RETURNING rows: nothing is written unless the
# snapshot says the drop is open with free stock (the common refusal in a stampede writes
# nothing), a stock row is only touched once the buyer's counter accepted the units, and the
# reservation and outbox rows only exist if a stock row's conditional UPDATE matched. The buyer
# row is locked before the stock row, the order every other path takes them in.
#
# Stock rows: the item's own row (`i`) if it has room, else one of its shards. `sf` takes a shard
# with room that no other transaction holds (SKIP LOCKED: concurrent winners take different rows
# and commit in parallel). It never waits for a shard: a shard locked and found full on its latest
# version stays locked until commit (PostgreSQL keeps row locks), so waiting for another one while
# holding it could deadlock. When every shard with room is held, nothing is reserved and the
# caller runs the statement again (`busy`). A split item's own row usually has nothing free, so its
# UPDATE matches no row and locks nothing. The uncorrelated EXISTS guards are one-time filters: a
# CTE whose guard is false does not scan or lock anything.
# The event's counters are the updated row's for an unsplit item; for a shard, the item's totals
# as of the statement's snapshot plus this reserve (concurrent reserves may not be counted yet).
# The final SELECT also returns what a refusal needs to explain itself (snapshot of drop, item
# and buyer; whether expired reservations hold the item), computed only when nothing was reserved.
_RESERVE_SQL = f"""
WITH d AS (
  SELECT id, state, starts_at, ends_at, per_buyer_limit FROM {_DROP} WHERE id = %(drop)s
), i0 AS (
  SELECT id, offered, reserved, sold FROM {_ITEM} WHERE drop_id = %(drop)s AND sku_id = %(sku)s
), t0 AS (
  SELECT i0.id, i0.offered + COALESCE(sum(x.offered), 0) AS offered,
    i0.reserved + COALESCE(sum(x.reserved), 0) AS reserved, i0.sold + COALESCE(sum(x.sold), 0) AS sold
  FROM i0 LEFT JOIN {_SHARD} x ON x.item_id = i0.id GROUP BY i0.id, i0.offered, i0.reserved, i0.sold
), go AS (
  SELECT 1 FROM d, t0 WHERE d.state = '{_LIVE}' AND d.starts_at <= %(now)s
    AND (d.ends_at IS NULL OR d.ends_at > %(now)s) AND %(q)s <= d.per_buyer_limit
    AND t0.reserved + t0.sold + %(q)s <= t0.offered
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
), sf AS (
  SELECT id FROM {_SHARD} WHERE item_id = (SELECT id FROM i0) AND reserved + sold + %(q)s <= offered
    AND EXISTS (SELECT 1 FROM b) AND NOT EXISTS (SELECT 1 FROM i)
  ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED
), s AS (
  UPDATE {_SHARD} sh SET reserved = sh.reserved + %(q)s FROM {_DROP} dd
  WHERE sh.id = (SELECT id FROM sf) AND dd.id = %(drop)s
    AND dd.state = '{_LIVE}' AND dd.starts_at <= %(now)s AND (dd.ends_at IS NULL OR dd.ends_at > %(now)s)
    AND sh.reserved + sh.sold + %(q)s <= sh.offered
  RETURNING sh.id, sh.offered, sh.reserved, sh.sold
), c AS (
  SELECT i.id AS item_id, NULL::bigint AS shard_id, i.offered, i.reserved, i.sold, NULL::integer AS shard_free
  FROM i
  UNION ALL
  SELECT t0.id, s.id, t0.offered, t0.reserved + %(q)s, t0.sold, s.offered - s.reserved - s.sold FROM s, t0
), r AS (
  INSERT INTO {_RESERVATION} (id, drop_id, item_id, shard_id, buyer_id, quantity, status, expires_at,
    order_id, release_reason, created_at, closed_at)
  SELECT %(rid)s, %(drop)s, c.item_id, c.shard_id, %(buyer)s, %(q)s, 'active', %(expires)s, NULL, '',
    %(now)s, NULL FROM c
), o AS (
  {_OUTBOX_ROW}
)
SELECT (SELECT units FROM b), EXISTS (SELECT 1 FROM go), c.item_id, c.offered, c.reserved, c.sold,
  d.id, d.state, d.starts_at, d.ends_at, d.per_buyer_limit,
  t0.id, t0.offered - t0.reserved - t0.sold,
  CASE WHEN c.item_id IS NULL THEN (SELECT units FROM {_BUYER} WHERE drop_id = %(drop)s AND buyer_id = %(buyer)s) END,
  CASE WHEN c.item_id IS NULL AND t0.id IS NOT NULL THEN EXISTS (
    SELECT 1 FROM {_RESERVATION} x WHERE x.item_id = t0.id AND x.status = 'active' AND x.expires_at <= %(now)s
  ) END,
  c.shard_id, c.shard_free,
  CASE WHEN c.item_id IS NULL AND t0.id IS NOT NULL THEN EXISTS (SELECT 1 FROM {_SHARD} x WHERE x.item_id = t0.id) END
FROM (SELECT 1) one LEFT JOIN d ON true LEFT JOIN t0 ON true LEFT JOIN c ON true
"""  # noqa: S608 (table names are ours; values are bound parameters)


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
    shard_id: int | None = None  # the shard the units came from (None: the item's own row)
    shard_free: int | None = None  # that shard's free units after the reserve
    split: bool = False  # (when refused) the item's stock is split over shards

    @property
    def busy(self) -> bool:
        """The buyer's counter took the units but every shard with room was held by another writer."""
        return self.split and self.buyer_claimed and self.counters is None


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
    """Claim the buyer's units, reserve units of a stock row, insert the reservation and its event.

    `event` is the inventory.reserved Event already prepared (validated) with placeholder counters;
    the database puts the item's real counters (`RESERVED_COUNTERS`) in their place. Callers must be inside
    `transaction.atomic()` and must undo the buyer claim (`adjust_buyer_units`) when
    `buyer_claimed` is true but `counters` is None (the item ran out between snapshot and lock,
    or — `busy` — every shard with room was held by another writer: run it again).
    """
    params = {
        "drop": drop_id, "sku": sku_id, "buyer": buyer_id, "q": quantity, "now": now,
        "rid": reservation_id, "expires": expires_at,
        **outbox_params(event, aggregate, computed=RESERVED_COUNTERS),
    }  # fmt: skip
    with prepared_cursor() as cur:  # planned once per connection (config/db/prepared.py)
        cur.execute(_RESERVE_SQL, params)
        row = cur.fetchone()
    (units, attempted, item_id, offered, reserved, sold, d_id, state, starts_at, ends_at, limit,
     i0_id, available, buyer_units, has_expired, shard_id, shard_free, split) = row  # fmt: skip
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
        shard_id=shard_id,
        shard_free=shard_free,
        split=bool(split),
    )
