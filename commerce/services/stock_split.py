"""Split a hot drop item's stock over several rows (StockShard) so buyers commit in parallel.

One row per item makes every winner of a stampede wait for the previous winner's commit on that
row. With the free units spread over N shards, a reserve takes a shard no other transaction holds
(`stock.reserve_in_one_statement`), so up to N winners commit at the same time. Every shard keeps
the never-oversold CHECK, so the item does too. Sold-out, pause, restock and the per-buyer limit
stay item- and drop-level: the buyer counter and the drop row are shared by all shards.
"""

from django.conf import settings
from django.db import connection, transaction

from commerce.errors import InvalidCatalogData, NotFound
from commerce.models import DropItem, StockShard
from commerce.services import stock

MAX_SHARDS = 64


def default_shards(*, quantity: int) -> int:
    """Shards for a new drop item of `quantity` units: COMMERCE_STOCK_SHARDS from
    COMMERCE_STOCK_SHARD_MIN_UNITS units up, else 1 (one row)."""
    wanted = int(getattr(settings, "COMMERCE_STOCK_SHARDS", 1))
    if wanted > 1 and quantity >= int(getattr(settings, "COMMERCE_STOCK_SHARD_MIN_UNITS", 100)):
        return wanted
    return 1


def _spread(units: int, parts: int) -> list[int]:
    """`units` over `parts` as evenly as possible, larger parts first."""
    return [units // parts + (1 if i < units % parts else 0) for i in range(parts)]


def split_item_stock(*, item_id: int, shards: int) -> list[StockShard]:
    """Move the item's free units into `shards` new StockShard rows (once per item).

    Works on a live item too: the item's row keeps what is reserved or sold on it (those
    reservations still point at it), its free units move to the shards. Raises NotFound,
    InvalidCatalogData (bad count, or already split).
    """
    if not 2 <= shards <= MAX_SHARDS:
        raise InvalidCatalogData(
            f"shards must be between 2 and {MAX_SHARDS}.", details={"field": "shards", "shards": shards}
        )
    with transaction.atomic():
        # The item's row is the lock: reserves on it re-check its (now smaller) offer after us.
        item = DropItem.objects.select_for_update(of=("self",)).filter(pk=item_id).first()
        if item is None:
            raise NotFound("Drop item not found.", details={"resource": "drop_item", "id": item_id})
        if StockShard.objects.filter(item_id=item_id).exists():
            raise InvalidCatalogData("This item's stock is already split.", details={"item_id": item_id})
        free = item.offered - item.reserved - item.sold
        stock.adjust_units(item_id=item_id, offered=-free)
        return StockShard.objects.bulk_create(
            StockShard(item_id=item_id, index=index, offered=units)
            for index, units in enumerate(_spread(free, shards))
        )


def add_offered(*, item_id: int, added: int) -> stock.Counters:
    """Inside the caller's transaction: offer `added` more units of an item (restock).

    A split item gets them spread over its shards (locked in index order, the order restocks
    always take them in); an unsplit one on its own row. Returns the item's counters.
    """
    table = StockShard._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT id FROM {table} WHERE item_id = %s ORDER BY index FOR UPDATE",  # noqa: S608
            [item_id],
        )
        shard_ids = [row[0] for row in cur.fetchall()]
    if not shard_ids:
        return stock.adjust_units(item_id=item_id, offered=added)
    for shard_id, units in zip(shard_ids, _spread(added, len(shard_ids)), strict=True):
        if units:
            stock.adjust_units(item_id=item_id, shard_id=shard_id, offered=units)
    return stock.item_counters(item_id=item_id)
