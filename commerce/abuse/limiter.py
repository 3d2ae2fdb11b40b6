"""Fixed-window counters in the shared Redis cache: one Lua call (one round trip) for several scopes.

DRF's own SimpleRateThrottle keeps a list of timestamps per key and writes it back (read, modify,
write): concurrent requests of one script race past it. INCR is atomic, so N requests in a window
count N whatever the concurrency. A fixed window lets up to twice the rate through across a window
boundary; for throttles that bound scripts, that is the accepted trade for one round trip.

Redis unreachable: the counters fail open (nothing is throttled or flagged, one warning a minute per
process) so that losing the cache never turns every reserve into a 500; the stock guarantees live
in PostgreSQL and do not depend on it.
"""

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache

from commerce.abuse.rates import Rate

logger = logging.getLogger(__name__)
_last_warning = 0.0


def _warn(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning > 60:
        _last_warning = now
        logger.warning("abuse counters unavailable, failing open", extra={"error": str(exc)})


@dataclass(frozen=True)
class Hit:
    scope: str
    count: int
    rate: Rate
    retry_after: int  # seconds until the window resets

    @property
    def over(self) -> bool:
        return self.count > self.rate.limit


def _client() -> Any:
    """The redis-py client behind Django's RedisCache (one per pool: config/cache.py)."""
    return cache._cache.get_client(write=True)  # type: ignore[attr-defined]


# KEYS: the counters' keys; ARGV: their lifetimes (s) -> the counts. One command for every counter
# of a request: one request to pack and one reply to parse, where a pipeline of INCR + EXPIRE per
# counter had 2N of each (a reserve has four counters: per user, per IP twice, velocity).
_COUNT = """
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[i]) end
  out[i] = n
end
return out
"""
_scripts: dict[int, tuple[Any, Any]] = {}  # id(client) -> (client, its registered script)


def _count_script() -> Any:
    conn = _client()
    known = _scripts.get(id(conn))
    if known is None or known[0] is not conn:  # the client is kept alive, so its id is not reused
        known = _scripts[id(conn)] = (conn, conn.register_script(_COUNT))
    return known[1]


def hit(counters: list[tuple[str, str, Rate]]) -> list[Hit]:
    """Count one request against each (scope, identity, rate); returns every counter's state."""
    if not counters:
        return []
    now = time.time()
    keys, ttls, windows = [], [], []
    for scope, ident, rate in counters:
        window = int(now // rate.seconds)
        keys.append(
            cache.make_key(
                f"{settings.KAFKA_TOPIC_PREFIX}abuse:rl:{scope}:{ident}:{rate.limit}/{rate.seconds}:{window}"
            )
        )
        ttls.append(rate.seconds + 1)
        windows.append(window)
    try:
        counts = _count_script()(keys=keys, args=ttls)
    except redis.RedisError as exc:
        _warn(exc)
        return []
    hits = []
    for i, (scope, _ident, rate) in enumerate(counters):
        reset = (windows[i] + 1) * rate.seconds
        hits.append(Hit(scope, int(counts[i]), rate, max(1, int(reset - now + 0.999))))
    return hits


# key -> monotonic time until which this process knows the Redis key of `first_time` is taken. A
# script hammering reserve is throttled on every request and each refusal would ask Redis again
# whether its flag was written this minute; the answer "taken" can only stay true, so it is kept.
_taken: dict[str, float] = {}
_TAKEN_MAX = 50_000
_TAKEN_UNKNOWN_TTL = 5.0  # seconds to trust a "taken" whose remaining lifetime we did not see


def first_time(key: str, *, seconds: int) -> bool:
    """True once per `seconds` for `key` (used to write a flag at most once a minute per buyer)."""
    now = time.monotonic()
    if _taken.get(key, 0.0) > now:
        return False
    try:
        added = bool(cache.add(f"{settings.KAFKA_TOPIC_PREFIX}abuse:once:{key}", 1, timeout=seconds))
    except redis.RedisError as exc:
        _warn(exc)
        return False
    if len(_taken) >= _TAKEN_MAX:
        _taken.clear()
    _taken[key] = now + (seconds if added else min(seconds, _TAKEN_UNKNOWN_TTL))
    return added
