"""Projection "sales per drop": units sold, gross amount and number of sales per drop and currency.

Built only from the `inventory.sold` contract (not from commerce tables), so it can be rebuilt from
the log. The live projection runs in consumer group `sales`; `manage.py replay sales` folds the same
events with the same `apply()` into a fresh table.
"""

from dataclasses import dataclass
from typing import Any

from django.db import connection

from realtime.events import Event
from realtime.models import SalesByDrop
from realtime.registry import batch_form_of, handles

NAME = "sales"
GROUP = "sales"
EVENT_TYPES = ("inventory.sold",)
LIVE_TABLE = SalesByDrop._meta.db_table
KEY_COLUMNS = ("drop_id", "currency")
COLUMNS = ("drop_id", "currency", "units", "gross", "sales")

# The table name is one of ours (the live table or a rebuild table), never input.
_UPSERT = """
INSERT INTO {table} (drop_id, currency, units, gross, sales) VALUES (%s, %s, %s, %s, 1)
ON CONFLICT (drop_id, currency) DO UPDATE SET
    units = {table}.units + EXCLUDED.units,
    gross = {table}.gross + EXCLUDED.gross,
    sales = {table}.sales + 1
"""

# The batch form: one row per (drop, currency) of the batch, summed first, since ON CONFLICT may
# not touch the same row twice in one statement. Sums commute, so the result equals one-by-one.
_UPSERT_MANY = """
INSERT INTO {table} (drop_id, currency, units, gross, sales)
SELECT * FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[])
ON CONFLICT (drop_id, currency) DO UPDATE SET
    units = {table}.units + EXCLUDED.units,
    gross = {table}.gross + EXCLUDED.gross,
    sales = {table}.sales + EXCLUDED.sales
"""


@dataclass(frozen=True)
class Sale:
    """What the projection reads from one `inventory.sold` event."""

    drop_id: int
    currency: str
    units: int
    gross: int


def decode(event: Event) -> Sale:
    """The sale an `inventory.sold` event records (its payload passed the schema: integers are ints)."""
    payload: dict[str, Any] = event.payload
    quantity: int = payload["quantity"]
    return Sale(
        drop_id=payload["drop_id"],
        currency=payload["currency"],
        units=quantity,
        gross=quantity * payload["unit_price"],
    )


def apply(event: Event, *, table: str = LIVE_TABLE) -> None:
    """Fold one `inventory.sold` event into `table` (runs inside the caller's transaction)."""
    sale = decode(event)
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT.format(table=connection.ops.quote_name(table)),
            [sale.drop_id, sale.currency, sale.units, sale.gross],
        )


@handles(GROUP, *EVENT_TYPES)
def on_inventory_sold(event: Event) -> None:
    """Live projection: the consumer runner calls this inside its inbox transaction."""
    apply(event)


def apply_many(events: list[Event], *, table: str = LIVE_TABLE) -> None:
    """`apply()` for several events: one upsert statement (runs inside the caller's transaction)."""
    totals: dict[tuple[int, str], list[int]] = {}
    for sale in map(decode, events):
        row = totals.setdefault((sale.drop_id, sale.currency), [0, 0, 0])
        row[0] += sale.units
        row[1] += sale.gross
        row[2] += 1
    if not totals:
        return
    keys = sorted(totals)  # a fixed order, so two writers cannot deadlock on the same rows
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_MANY.format(table=connection.ops.quote_name(table)),
            [
                [k[0] for k in keys],
                [k[1] for k in keys],
                [totals[k][0] for k in keys],
                [totals[k][1] for k in keys],
                [totals[k][2] for k in keys],
            ],
        )


@batch_form_of(on_inventory_sold)
def on_inventory_sold_batch(events: list[Event]) -> None:
    """Live projection, batch form: same totals as `on_inventory_sold` on each event in order."""
    apply_many(events)
