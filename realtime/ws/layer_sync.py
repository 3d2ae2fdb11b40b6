"""`group_send` for sync code (services' on-commit hooks, WSGI views) without an event loop per call.

`async_to_sync(layer.group_send)` in a thread with no running loop builds a new event loop for
the call, and channels_redis's pub/sub layer keeps one Redis connection per loop: every frame
pushed from sync code opened and closed a Redis connection (~8 ms of CPU per push, two pushes per
auction bid; measured with cProfile on `place_bid`). Here the same message goes out as the layer
would send it — its own serializer, its own group channel name and shard — as one PUBLISH on a
pooled synchronous Redis client. Any other layer backend (the in-memory one of some tests) goes
through `async_to_sync` as before.
"""

from functools import cache
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection


def group_send_blocking(group: str, message: dict[str, Any]) -> None:
    """Send `message` to every channel of `group` (what `await layer.group_send` does)."""
    layer = get_channel_layer()
    assert layer is not None
    if not isinstance(layer, RedisPubSubChannelLayer):
        async_to_sync(layer.group_send)(group, message)
        return
    naming = _naming(layer)
    channel = naming._get_group_channel_name(group)
    _shard_client(naming._get_shard(channel)).publish(channel, layer.serialize(message))


@cache
def _naming(layer: RedisPubSubChannelLayer) -> RedisPubSubLoopLayer:
    """The layer's per-loop object, used only for its names and shards (it connects lazily, never here)."""
    return RedisPubSubLoopLayer(*layer._args, **layer._kwargs, channel_layer=layer)


@cache
def _shard_client(shard: RedisSingleShardConnection) -> redis.Redis:
    """A pooled sync client to the shard's host, from the same host settings the layer uses."""
    host = dict(shard.host)
    address = host.pop("address", None)
    return redis.Redis.from_url(address, **host) if address else redis.Redis(**host)
