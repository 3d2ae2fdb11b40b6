"""Coalescing of stock updates: at most one `stock` frame per drop per window, last value wins.

A stampede of reservations produces one `inventory.*` event per reservation; watchers only need
the latest counters. Per drop we keep the latest counters of each SKU changed since the last
frame. A drop with nothing sent for a whole window is flushed at once (no added latency when
quiet); otherwise at the end of its window. Final states never wait: `sold_out` and drop state
changes flush the drop immediately (`take`), so they are never coalesced away.

The window widens while a drop stays busy: every frame that had to wait for the end of its
window doubles the drop's window, up to `max_window_s`; a change after a quiet spell resets it.
Each frame costs one write per watching socket, so during a stampede fewer, fuller frames keep
the fan-out ahead of the changes (figures: bench/README.md). A frame still carries the newest
counters when it leaves.

Pure and clock-injected, so it is unit-tested without Kafka or Redis.
"""

from dataclasses import dataclass, field
from typing import Any

Position = tuple[str, int]  # (topic, partition)


@dataclass
class PendingStock:
    drop_id: int
    seq: int
    at: str
    skus: dict[int, dict[str, int]] = field(default_factory=dict)
    sold_out: bool = False
    # Lowest Kafka offset per partition among the events folded in: offsets at or above it must
    # not be committed before this frame is published.
    holds: dict[Position, int] = field(default_factory=dict)


STOCK_FIELDS = ("offered", "reserved", "sold", "available")
_EPSILON = 1e-6  # clock arithmetic in floats: 10.1 - 10.0 < 0.1


class StockCoalescer:
    def __init__(self, window_s: float, max_window_s: float | None = None) -> None:
        self.window_s = window_s
        self.max_window_s = max(window_s, max_window_s if max_window_s is not None else window_s)
        self.pending: dict[int, PendingStock] = {}
        self.last_flush: dict[int, float] = {}
        self.windows: dict[int, float] = {}  # the drop's current (possibly widened) window

    def window_of(self, drop_id: int) -> float:
        return self.windows.get(drop_id, self.window_s)

    def add(
        self,
        *,
        drop_id: int,
        payload: dict[str, Any],
        seq: int,
        at: str,
        position: Position,
        offset: int,
        sold_out: bool = False,
    ) -> None:
        """Fold one inventory event (its counters are the SKU's after the change)."""
        entry = self.pending.get(drop_id)
        if entry is None:
            entry = self.pending[drop_id] = PendingStock(drop_id=drop_id, seq=seq, at=at)
        entry.skus[int(payload["sku_id"])] = {k: int(payload[k]) for k in STOCK_FIELDS}
        entry.seq = max(entry.seq, seq)
        entry.at = at
        entry.sold_out = entry.sold_out or sold_out
        entry.holds.setdefault(position, offset)

    def take(self, drop_id: int, now: float) -> PendingStock | None:
        """Flush one drop now (before a final state or a state change)."""
        entry = self.pending.pop(drop_id, None)
        if entry is not None:
            self.last_flush[drop_id] = now
        return entry

    def due(self, now: float) -> list[PendingStock]:
        """Drops whose window has passed since their last frame (widening the windows of busy ones)."""
        out = []
        for drop_id in list(self.pending):
            since = now - self.last_flush.get(drop_id, float("-inf"))
            window = self.window_of(drop_id)
            if since < window - _EPSILON:
                continue
            # Flushed right as its window ended: changes were waiting, the drop is busy.
            # Flushed long after: this change came after a quiet spell.
            busy = since <= window * 1.5
            self.windows[drop_id] = min(self.max_window_s, window * 2) if busy else self.window_s
            entry = self.take(drop_id, now)
            if entry is not None:
                out.append(entry)
        return out

    def take_all(self, now: float) -> list[PendingStock]:
        return [e for d in list(self.pending) if (e := self.take(d, now)) is not None]

    def next_due_in(self, now: float) -> float | None:
        """Seconds until the next drop is due (None when nothing is pending)."""
        if not self.pending:
            return None
        soonest = min(self.last_flush.get(d, float("-inf")) + self.window_of(d) for d in self.pending)
        return max(0.0, soonest - now)

    def holds(self) -> dict[Position, int]:
        """Per partition, the lowest offset still waiting in an unsent frame."""
        low: dict[Position, int] = {}
        for entry in self.pending.values():
            for pos, offset in entry.holds.items():
                low[pos] = min(offset, low.get(pos, offset))
        return low

    def forget(self, positions: set[Position]) -> None:
        """Partitions were revoked: their events will be replayed by the next owner."""
        for drop_id in [d for d, e in self.pending.items() if positions & e.holds.keys()]:
            del self.pending[drop_id]

    def forget_old(self, now: float, keep_s: float = 3600.0) -> None:
        """Bound memory: forget flush times of drops quiet for an hour."""
        for drop_id in [d for d, t in self.last_flush.items() if now - t > keep_s and d not in self.pending]:
            del self.last_flush[drop_id]
            self.windows.pop(drop_id, None)
