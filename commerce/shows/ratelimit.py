"""A fixed-window counter in Redis, shared by every process (per-user chat and reaction limits)."""

import time
from functools import cache

import redis
from django.conf import settings


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def hit(name: str, *, limit: int, window_s: int) -> int | None:
    """Count one action; None if allowed, else the seconds until the window resets."""
    now = time.time()
    window = int(now // window_s)
    key = f"{settings.KAFKA_TOPIC_PREFIX}shows:rl:{name}:{window}"
    pipe = _client().pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, window_s + 1)
    count, _ = pipe.execute()
    if int(count) <= limit:
        return None
    return max(1, int((window + 1) * window_s - now + 0.999))
