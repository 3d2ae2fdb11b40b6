"""Per-stream sequence heads and resume buffers in Redis.

A stream is `drop.<id>`, `order.<id>` or `merchant.<id>`. For drop and order streams the sequence
number of a message is the Kafka offset (+1) of the last event it reflects: a drop's (an order's)
events all live in one partition, so offsets increase per stream, survive projector restarts and
give a replayed event the very same number, which makes re-publishing idempotent. Dashboard
streams mix two topics, so their numbers come from a Redis counter instead.

Redis keeps, per stream, `head` (highest seq appended) and the last `WS_RESUME_BUFFER` frames as
`<seq>:<prev seq>:<frame json>`. `prev` lets `since()` tell whether the buffer still covers a
client's `last_seq` although offsets are not contiguous.
"""

import asyncio
import weakref
from dataclasses import dataclass
from functools import cache
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from realtime.ws.protocol import FrameTemplate, StreamFrame

# Appends only a seq above head (a replayed event after a projector restart is a no-op here).
_APPEND = """
local seq = tonumber(ARGV[1])
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
if seq <= head then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
redis.call('RPUSH', KEYS[2], ARGV[1] .. ':' .. head .. ':' .. ARGV[2])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""

# Dashboard streams: the next number from the head counter; ARGV[1] is the frame with a
# '{seq}' placeholder to fill in, so the stored frame carries its own number.
_APPEND_NEXT = """
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local seq = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
local frame = string.gsub(ARGV[1], '{seq}', tostring(seq), 1)
redis.call('RPUSH', KEYS[2], seq .. ':' .. head .. ':' .. frame)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {seq, frame}
"""


# Streams numbered by the Redis counter (append_next): numbers are contiguous, so a gap means a
# frame still on its way (several publishers) or lost. Drop and order streams use Kafka offsets.
COUNTER_STREAM_PREFIXES = ("show.", "merchant.")


def stream_key(stream: str) -> str:
    """Namespaced like Kafka topics, so test runs and environments never share heads or buffers."""
    return f"{settings.KAFKA_TOPIC_PREFIX}ws:{stream}"


def group_name(stream: str) -> str:
    """The Channels group of a stream (namespaced the same way)."""
    return f"{settings.KAFKA_TOPIC_PREFIX}{stream}"


def head_key(stream: str) -> str:
    return stream_key(stream) + ":head"


def buffer_key(stream: str) -> str:
    return stream_key(stream) + ":buf"


# One client (and pool) per event loop: redis.asyncio connections are bound to their loop.
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis]" = weakref.WeakKeyDictionary()


def client() -> aioredis.Redis:
    """The Redis client of the running event loop."""
    loop = asyncio.get_running_loop()
    redis = _clients.get(loop)
    if redis is None:
        redis = _clients[loop] = aioredis.Redis.from_url(
            settings.REDIS_URL, max_connections=settings.WS_REDIS_MAX_CONNECTIONS
        )
    return redis


@dataclass(frozen=True)
class Since:
    covered: bool  # False: the buffer no longer reaches back to last_seq: send a snapshot
    frames: list[tuple[int, str]]  # (seq, frame) after last_seq, oldest first
    head: int


def _parse(entry: bytes) -> tuple[int, int, str]:
    seq, prev, text = entry.decode().split(":", 2)
    return int(seq), int(prev), text


async def append(stream: str, seq: int, text: str, *, redis: aioredis.Redis | None = None) -> bool:
    """Record a frame with `seq` if above the stream's head; False if it was already there."""
    r = redis or client()
    result = await r.eval(
        _APPEND,
        2,
        head_key(stream),
        buffer_key(stream),
        seq,
        text,
        settings.WS_RESUME_BUFFER,
        settings.WS_STREAM_TTL_SECONDS,
    )
    return bool(result)


async def append_many(frames: list[StreamFrame]) -> None:
    """Record frames whose seq is known (drop and order streams) in one round trip; replays are no-ops."""
    pipe = client().pipeline(transaction=False)
    for f in frames:
        pipe.eval(_APPEND, 2, head_key(f.stream), buffer_key(f.stream), f.seq, f.text,
                  settings.WS_RESUME_BUFFER, settings.WS_STREAM_TTL_SECONDS)  # fmt: skip
    await pipe.execute()


async def broadcast(layer: Any, frames: list[StreamFrame]) -> None:
    """Publish numbered frames: buffer them for resume, then `group_send` each to its stream's group.

    What the projector does with every frame it makes (bench/ws_fanout.py's publish floor calls it
    too, to time the fan-out from here to the sockets)."""
    await append_many(frames)
    for f in frames:
        await layer.group_send(group_name(f.stream), f.layer_message())


def _append_next_args(template: FrameTemplate) -> tuple[Any, ...]:
    return (_APPEND_NEXT, 2, head_key(template.stream), buffer_key(template.stream), template.text,
            settings.WS_RESUME_BUFFER, settings.WS_STREAM_TTL_SECONDS)  # fmt: skip


def _numbered(template: FrameTemplate, result: Any) -> StreamFrame:
    seq, text = result
    return template.numbered(int(seq), text.decode() if isinstance(text, bytes) else str(text))


async def append_next(template: FrameTemplate) -> StreamFrame:
    """Give a counter stream's frame the stream's next number and record it (async code)."""
    return _numbered(template, await client().eval(*_append_next_args(template)))


@cache
def _sync_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def append_next_blocking(template: FrameTemplate) -> StreamFrame:
    """`append_next` for sync code (WSGI views, services' on-commit hooks, commands)."""
    return _numbered(template, _sync_client().eval(*_append_next_args(template)))


async def head(stream: str) -> int:
    """The stream's current head seq (0 before its first message)."""
    value = await client().get(head_key(stream))
    return int(value) if value else 0


async def heads(streams: list[str]) -> list[int]:
    if not streams:
        return []
    values = await client().mget([head_key(s) for s in streams])
    return [int(v) if v else 0 for v in values]


async def since(stream: str, last_seq: int) -> Since:
    """Frames after `last_seq` if the buffer still covers it (covered=False means: take a snapshot)."""
    pipe = client().pipeline(transaction=True)
    pipe.get(head_key(stream))
    pipe.lrange(buffer_key(stream), 0, -1)
    raw_head, entries = await pipe.execute()
    current = int(raw_head) if raw_head else 0
    if last_seq > current:
        return Since(covered=False, frames=[], head=current)  # a seq we never issued
    later = [(seq, prev, text) for seq, prev, text in map(_parse, entries) if seq > last_seq]
    if not later:
        return Since(covered=last_seq == current, frames=[], head=current)
    return Since(covered=later[0][1] <= last_seq, frames=[(s, t) for s, _, t in later], head=current)
