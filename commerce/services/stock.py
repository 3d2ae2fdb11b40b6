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
from django.utils import timezone

from commerce.models import DropBuyer, DropItem, DropState

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


def reserve_units(*, drop_id: int, sku_id: int, quantity: int) -> Counters | None:
    """Move `quantity` free units to reserved if the drop is live and open; None if not possible."""
    now = timezone.now()
    return _one(
        f"UPDATE {_ITEM} di SET reserved = di.reserved + %s FROM {_DROP} d "  # noqa: S608 (table names are ours)
        "WHERE di.drop_id = %s AND di.sku_id = %s AND d.id = di.drop_id AND d.state = %s "
        "AND d.starts_at <= %s AND (d.ends_at IS NULL OR d.ends_at > %s) "
        f"AND di.reserved + di.sold + %s <= di.offered {_RETURNING}",
        # The app's clock, not the database's now() (= transaction start): the same clock that
        # set starts_at / ends_at and that the refusal explanation uses.
        [quantity, drop_id, sku_id, DropState.LIVE.value, now, now, quantity],
    )


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


def claim_buyer_units(*, drop_id: int, buyer_id: int, quantity: int) -> int | None:
    """Count `quantity` more units against the buyer's per-drop limit; None if it would exceed it.

    One upsert: the first reservation inserts the counter row, later ones update it only while
    `units + quantity <= per_buyer_limit`. Parallel requests of one buyer queue on that row.
    """
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {_BUYER} (drop_id, buyer_id, units) "  # noqa: S608
            f"SELECT d.id, %s, %s FROM {_DROP} d WHERE d.id = %s AND %s <= d.per_buyer_limit "
            f"ON CONFLICT (drop_id, buyer_id) DO UPDATE SET units = {_BUYER}.units + EXCLUDED.units "
            f"WHERE {_BUYER}.units + EXCLUDED.units <= (SELECT per_buyer_limit FROM {_DROP} WHERE id = EXCLUDED.drop_id) "
            "RETURNING units",
            [buyer_id, quantity, drop_id, quantity],
        )
        row = cur.fetchone()
    return int(row[0]) if row else None


def adjust_buyer_units(*, drop_id: int, buyer_id: int, delta: int) -> None:
    """Give units back to (negative delta) or force them onto (positive) a buyer's counter."""
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {_BUYER} (drop_id, buyer_id, units) VALUES (%s, %s, GREATEST(%s, 0)) "  # noqa: S608
            f"ON CONFLICT (drop_id, buyer_id) DO UPDATE SET units = GREATEST({_BUYER}.units + %s, 0)",
            [drop_id, buyer_id, delta, delta],
        )
