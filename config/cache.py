"""Django's Redis cache with one redis-py client per connection pool instead of one per call.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` around the (shared) pool on every
cache call. redis-py 8 fills ~170 response callbacks and an event dispatcher in that constructor:
~190 µs of CPU measured here, paid by every `cache.get` / `add` and by the abuse counters on each
reserve (bench/README.md). A `redis.Redis` is thread-safe (each command borrows a pool
connection), so one per pool is kept and reused. Everything else is Django's backend.
"""

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class PooledClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._clients_lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # not in the stubs
        client = self._clients.get(id(pool))
        if client is None:
            with self._clients_lock:
                client = self._clients.setdefault(
                    id(pool),
                    self._client(connection_pool=pool),  # type: ignore[attr-defined]
                )
        return client


class RedisCache(DjangoRedisCache):
    """`CACHES[...]["BACKEND"] = "config.cache.RedisCache"`: same options as Django's."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = PooledClientRedisCacheClient
