"""The bid-increment table: how much above the current bid the next bid must be."""

import itertools
from typing import Any

from commerce.auctions.errors import InvalidAuctionData

# Minor units: below $20 bid in $1 steps, then $2.50, $5 from $100, $10 from $500.
DEFAULT_TABLE: list[list[int]] = [[0, 100], [2_000, 250], [10_000, 500], [50_000, 1_000]]
MAX_AMOUNT = 10**12


def check_table(table: Any) -> list[list[int]]:
    """A valid table ([[from, step], ...], first from 0, ascending, steps >= 1) or InvalidAuctionData."""
    if table in (None, []):
        return [list(r) for r in DEFAULT_TABLE]
    ok = isinstance(table, list) and all(
        isinstance(r, list | tuple)
        and len(r) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in r)
        and 0 <= r[0] <= MAX_AMOUNT
        and 1 <= r[1] <= MAX_AMOUNT
        for r in table
    )
    if not ok or table[0][0] != 0 or any(a[0] >= b[0] for a, b in itertools.pairwise(table)):
        raise InvalidAuctionData(
            "increments must be [[from_amount, step], ...] starting at 0, ascending, steps of at least 1.",
            details={"field": "increments"},
        )
    return [[int(a), int(b)] for a, b in table]


def step_at(table: list[list[int]], amount: int) -> int:
    """The increment that applies when the current bid is `amount`."""
    step = table[0][1]
    for start, value in table:
        if amount >= start:
            step = value
    return step


def next_bid(*, table: list[list[int]], starting_price: int, current: int | None) -> int:
    """The lowest bid accepted now: the starting price, or the current bid plus its increment."""
    return starting_price if current is None else current + step_at(table, current)
