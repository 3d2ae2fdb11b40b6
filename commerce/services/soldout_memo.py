"""A per-process memo of the drop SKUs this process recently saw sold out.

In a stampede most buyers arrive after the last unit went: each of them would still cost a
statement that takes the item's row lock behind the winners. With the memo, a web process that
has seen a SKU sold out answers `sold_out` from memory for a short while
(`COMMERCE_SOLD_OUT_MEMO_SECONDS`, default 1 s; 0 turns it off).

It can only be wrong in one direction, and briefly: units that come back (release, cancel,
restock) in *another* process are offered here again once the entry expires. This process forgets
a drop at once when it gives units back itself. The database stays the only judge of a
reservation: a memo miss always goes to the conditional update.
"""

import time

from django.conf import settings
from django.db import transaction

_MAX_ENTRIES = 10_000  # bounded: cleared when full (a miss only costs the normal path)
_sold_out_until: dict[tuple[int, int], float] = {}  # (drop_id, sku_id) -> monotonic deadline


def _ttl() -> float:
    return float(getattr(settings, "COMMERCE_SOLD_OUT_MEMO_SECONDS", 1.0))


def is_sold_out(*, drop_id: int, sku_id: int) -> bool:
    deadline = _sold_out_until.get((drop_id, sku_id))
    return deadline is not None and deadline > time.monotonic()


def remembers_any() -> bool:
    """Whether any SKU is in the memo (expired or not): when not, no request can be answered from it."""
    return bool(_sold_out_until)


def _remember(drop_id: int, sku_id: int) -> None:
    ttl = _ttl()
    if ttl <= 0:
        return
    if len(_sold_out_until) >= _MAX_ENTRIES:
        _sold_out_until.clear()
    _sold_out_until[(drop_id, sku_id)] = time.monotonic() + ttl


def remember_sold_out(*, drop_id: int, sku_id: int) -> None:
    """Note a SKU as sold out once the caller's transaction (if any) commits."""
    transaction.on_commit(lambda: _remember(drop_id, sku_id))


def forget_drop(drop_id: int) -> None:
    """Units of this drop come back: forget it now and again when the caller commits.

    Twice because a request in another thread may re-learn "sold out" from the database between
    the two (the release is not visible to it yet).
    """

    def forget() -> None:
        for key in list(_sold_out_until):  # a copy: other threads may add entries meanwhile
            if key[0] == drop_id:
                _sold_out_until.pop(key, None)

    forget()
    transaction.on_commit(forget)


def clear() -> None:
    """Forget everything (tests)."""
    _sold_out_until.clear()
