"""Projection "sales per drop": units sold, gross amount and number of sales per drop and currency.

Built only from the `inventory.sold` contract (not from commerce tables), so it can be rebuilt from
the log. The live projection runs in consumer group `sales`; `manage.py replay sales` folds the same
events with the same `apply()` into a fresh table.
"""

from typing import Any

from django.db import connection

from realtime.events import Event
from realtime.models import SalesByDrop
from realtime.registry import handles

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


def apply(event: Event, *, table: str = LIVE_TABLE) -> None:
    """Fold one `inventory.sold` event into `table` (runs inside the caller's transaction)."""
    payload: dict[str, Any] = event.payload
    quantity = int(payload["quantity"])
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT.format(table=connection.ops.quote_name(table)),
            [payload["drop_id"], payload["currency"], quantity, quantity * int(payload["unit_price"])],
        )


@handles(GROUP, *EVENT_TYPES)
def on_inventory_sold(event: Event) -> None:
    """Live projection: the consumer runner calls this inside its inbox transaction."""
    apply(event)
