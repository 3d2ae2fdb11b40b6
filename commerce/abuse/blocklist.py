"""Is this buyer blocked in this drop? Answered from memory: the reserve path pays no query for it.

Each process keeps, per drop, the set of buyers blocked in that drop or in its merchant's whole
shop, loaded with one query and kept ABUSE_BLOCKLIST_CACHE_SECONDS (default 2 s). A block or
unblock clears the set at once in the process that made it (after commit) and takes effect in
every other process within that window. `bench/abuse_blockcheck.py` measures the cost.
"""

import threading
import time

from django.conf import settings
from django.db import connection

from commerce.abuse.errors import BuyerBlocked
from commerce.abuse.models import BuyerBlock
from commerce.models import Drop

_cache: dict[int, tuple[float, frozenset[int]]] = {}
_lock = threading.Lock()
_MAX_DROPS = 10_000

_SQL = (
    f"SELECT buyer_id FROM {BuyerBlock._meta.db_table} WHERE drop_id = %s OR (drop_id IS NULL "  # noqa: S608
    f"AND merchant_id = (SELECT merchant_id FROM {Drop._meta.db_table} WHERE id = %s))"
)


def blocked_buyers(drop_id: int) -> frozenset[int]:
    """Buyers refused in `drop_id` (its own blocks and its shop's), at most the cache window old."""
    now = time.monotonic()
    hit = _cache.get(drop_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    with connection.cursor() as cur:
        cur.execute(_SQL, [drop_id, drop_id])
        buyers = frozenset(int(row[0]) for row in cur.fetchall())
    ttl = float(settings.ABUSE_BLOCKLIST_CACHE_SECONDS)
    if ttl > 0:
        with _lock:
            if len(_cache) >= _MAX_DROPS:
                _cache.clear()
            _cache[drop_id] = (now + ttl, buyers)
    return buyers


def check_not_blocked(*, drop_id: int, buyer_id: int) -> None:
    """Raise BuyerBlocked (403) when the merchant blocked the buyer for this drop or the shop."""
    if buyer_id in blocked_buyers(drop_id):
        raise BuyerBlocked(
            "The seller has blocked this account from buying in this drop.",
            details={"drop_id": drop_id},
        )


def forget(drop_id: int | None = None) -> None:
    """Drop the cached set of one drop (or all): the next check reads the database."""
    with _lock:
        if drop_id is None:
            _cache.clear()
        else:
            _cache.pop(drop_id, None)
