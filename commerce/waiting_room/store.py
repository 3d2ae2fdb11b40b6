"""The queue of one drop's waiting room in Redis: every change is one Lua script, so it is atomic.

Keys of drop `d` (hash tag `{d}` keeps them on one cluster slot), under COMMERCE_WAITING_ROOM_PREFIX:

| key | type | holds |
|---|---|---|
| `meta` | hash | `state` (pre / drawing / open), `tail` (last ticket), `admseq`, `epoch`, `rebuild_until` (ms), `released` (admissions released by a reservation) |
| `early` | set | buyers who joined before the start (the lottery) |
| `late` | list | buyers who joined while the lottery was being drawn, in arrival order |
| `q` | sorted set | buyer -> ticket; the lowest ticket is admitted next |
| `adm` | sorted set | admitted buyer -> admission deadline (ms) |
| `admn` | hash | admitted buyer -> admission number (part of the token's id) |
| `log` | list | admitted buyers in admission order (fairness tests, the bench, the merchant) |
| `bucket` | hash | the admission rate's token bucket (`tokens`, `ts`) |

The lottery is drawn in Python with a CSPRNG (`secrets.SystemRandom`): `begin_draw` freezes the
early set (state `drawing`; joins now go to `late`), `finish_draw` writes the shuffled tickets
1..n, appends `late` after them and opens the queue. Any process may (re)draw a room stuck in
`drawing`: the set is frozen, so every draw is an equally fair one and the first to finish wins.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

import redis
from django.conf import settings

KEY_TTL_SECONDS = 2 * 24 * 3600  # a finished drop's queue disappears by itself

_EXPIRE_ALL = """
for _, k in ipairs(KEYS) do redis.call('EXPIRE', k, ARGV[#ARGV]) end
"""

# KEYS meta early late q adm; ARGV user due_ms ttl -> {status, position, ticket, state, epoch, rebuild_until}
#   due_ms: now (ms) when the drop has started, '' otherwise; a room still waiting for its lottery past
#   its rebuild window answers 'due' and changes nothing (the caller draws first, then joins again).
_JOIN = (
    """
local m = redis.call('HMGET', KEYS[1], 'state', 'epoch', 'rebuild_until')
local st = m[1]
if not st then return {'absent', 0, 0} end
local e, rb = m[2] or '0', m[3] or '0'
if ARGV[2] ~= '' and (st == 'pre' or st == 'drawing') and tonumber(ARGV[2]) >= tonumber(rb) then
  return {'due', 0, 0, st, e, rb}
end
local u = ARGV[1]
local out
if redis.call('ZSCORE', KEYS[5], u) then
  out = {'admitted', 0, 0}
elseif st == 'pre' then
  redis.call('SADD', KEYS[2], u)
  out = {'lottery', 0, 0}
elseif st == 'drawing' then
  if redis.call('SISMEMBER', KEYS[2], u) == 1 then
    out = {'lottery', 0, 0}
  else
    if not redis.call('LPOS', KEYS[3], u) then redis.call('RPUSH', KEYS[3], u) end
    out = {'pending', 0, 0}
  end
else
  local t = redis.call('ZSCORE', KEYS[4], u)
  if not t then
    t = redis.call('HINCRBY', KEYS[1], 'tail', 1)
    redis.call('ZADD', KEYS[4], t, u)
  end
  out = {'queued', redis.call('ZRANK', KEYS[4], u) + 1, tonumber(t)}
end
out[4] = st; out[5] = e; out[6] = rb
"""
    + _EXPIRE_ALL
    + "return out"
)

# KEYS meta early late q adm admn; ARGV users...
#   -> {state, epoch, rebuild_until, [status, n, ticket/deadline, admno]...}
_STATUS = """
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return {'absent'} end
local m = redis.call('HMGET', KEYS[1], 'epoch', 'rebuild_until')
local out = {st, m[1] or '0', m[2] or '0'}
for _, u in ipairs(ARGV) do
  local d = redis.call('ZSCORE', KEYS[5], u)
  if d then
    local n = redis.call('HGET', KEYS[6], u) or '0'
    out[#out + 1] = 'admitted'; out[#out + 1] = 0; out[#out + 1] = tonumber(d); out[#out + 1] = n
  else
    local r = redis.call('ZRANK', KEYS[4], u)
    if r then
      out[#out + 1] = 'queued'; out[#out + 1] = r + 1
      out[#out + 1] = tonumber(redis.call('ZSCORE', KEYS[4], u)); out[#out + 1] = '0'
    elseif redis.call('SISMEMBER', KEYS[2], u) == 1 then
      out[#out + 1] = 'lottery'; out[#out + 1] = 0; out[#out + 1] = 0; out[#out + 1] = '0'
    elseif redis.call('LPOS', KEYS[3], u) then
      out[#out + 1] = 'pending'; out[#out + 1] = 0; out[#out + 1] = 0; out[#out + 1] = '0'
    else
      out[#out + 1] = 'none'; out[#out + 1] = 0; out[#out + 1] = 0; out[#out + 1] = '0'
    end
  end
end
return out
"""

# KEYS meta; ARGV state epoch rebuild_until_ms ttl -> 1 created, 0 existed
_CREATE = (
    """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'epoch', ARGV[2], 'rebuild_until', ARGV[3], 'tail', 0, 'admseq', 0)
"""
    + _EXPIRE_ALL
    + "return 1"
)

# KEYS meta -> 1 if the caller may draw (state pre or drawing), else 0
_BEGIN_DRAW = """
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'pre' then redis.call('HSET', KEYS[1], 'state', 'drawing'); return 1 end
if st == 'drawing' then return 1 end
return 0
"""

# KEYS meta early late q; ARGV shuffled early members..., ttl -> tickets given, -1 not drawing, -2 stale
_FINISH_DRAW = (
    """
if redis.call('HGET', KEYS[1], 'state') ~= 'drawing' then return -1 end
local n_early = #ARGV - 1
if redis.call('SCARD', KEYS[2]) ~= n_early then return -2 end
local n = 0
for i = 1, n_early do
  n = n + 1
  redis.call('ZADD', KEYS[4], 'NX', n, ARGV[i])
end
for _, u in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  if not redis.call('ZSCORE', KEYS[4], u) then n = n + 1; redis.call('ZADD', KEYS[4], n, u) end
end
redis.call('HSET', KEYS[1], 'state', 'open', 'tail', n, 'lottery_size', n_early)
redis.call('DEL', KEYS[2], KEYS[3])
"""
    + _EXPIRE_ALL
    + "return n"
)

# KEYS meta q adm admn log bucket; ARGV now_ms rate burst capacity ttl_ms keyttl -> {expired, admitted}
_ADMIT = (
    """
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return {{}, {}} end
local now = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  for _, u in ipairs(expired) do redis.call('HDEL', KEYS[4], u) end
end
local rate, burst = tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[6], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000) else now = ts end
-- Slots released since the caller's `released` read (ARGV[6]) are not free yet: their reservations
-- may have committed after the caller read the free units (ARGV[4]) from PostgreSQL.
local late = tonumber(redis.call('HGET', KEYS[1], 'released') or '0') - tonumber(ARGV[6])
local free = tonumber(ARGV[4]) - redis.call('ZCARD', KEYS[3]) - math.max(0, late)
local n = math.min(math.floor(tokens), free)
local admitted = {}
if n > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], n)
  for i = 1, #popped, 2 do
    local u = popped[i]
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), u)
    redis.call('HSET', KEYS[4], u, redis.call('HINCRBY', KEYS[1], 'admseq', 1))
    redis.call('RPUSH', KEYS[5], u)
    admitted[#admitted + 1] = u
  end
  tokens = tokens - #admitted
end
redis.call('HSET', KEYS[6], 'tokens', tostring(tokens), 'ts', now)
"""
    + _EXPIRE_ALL
    + "return {expired, admitted}"
)

# KEYS adm admn meta; ARGV user -> 1 if the admission was still held. Every release is counted
# (`released` in meta), held or not: see `admit` for why.
_RELEASE = """
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HINCRBY', KEYS[3], 'released', 1) end
return redis.call('ZREM', KEYS[1], ARGV[1])
"""


@cache
def _client(url: str) -> redis.Redis:
    # Short timeouts: a Redis that does not answer pauses the room (an error) instead of
    # holding web workers.
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)


def client() -> redis.Redis:
    """The Redis holding the waiting rooms (COMMERCE_WAITING_ROOM_REDIS_URL, default REDIS_URL)."""
    return _client(settings.COMMERCE_WAITING_ROOM_REDIS_URL)


_scripts: dict[tuple[int, str], Any] = {}


def _script(source: str) -> Any:
    conn = client()
    key = (id(conn), source)
    if key not in _scripts:
        _scripts[key] = conn.register_script(source)
    return _scripts[key]


def _keys(drop_id: int, *names: str) -> list[str]:
    base = f"{settings.COMMERCE_WAITING_ROOM_PREFIX}{{{drop_id}}}:"
    return [base + name for name in names]


@dataclass(frozen=True)
class Place:
    """One buyer's place: status (absent/lottery/pending/queued/admitted/none) and its numbers."""

    status: str
    position: int = 0  # 1 = next in line (queued only)
    ticket: int = 0  # arrival number (queued only)
    deadline_ms: int = 0  # admission deadline (admitted only)
    admission_no: int = 0  # admitted only


@dataclass(frozen=True)
class RoomStatus:
    state: str  # absent / pre / drawing / open
    epoch: int
    places: dict[int, Place]
    rebuild_until_ms: int = 0

    def meta(self) -> dict[str, str]:
        """What `meta()` would answer for the fields a buyer's view needs ({} when absent)."""
        if self.state == "absent":
            return {}
        return {"state": self.state, "epoch": str(self.epoch), "rebuild_until": str(self.rebuild_until_ms)}


def create(*, drop_id: int, state: str, epoch: int, rebuild_until_ms: int = 0) -> bool:
    """Create the room's meta hash unless it exists; True if this call created it."""
    keys = _keys(drop_id, "meta")
    return bool(_script(_CREATE)(keys=keys, args=[state, epoch, rebuild_until_ms, KEY_TTL_SECONDS]))


def meta(*, drop_id: int) -> dict[str, str]:
    """The room's meta hash ({} when there is no room, or Redis lost it)."""
    return client().hgetall(_keys(drop_id, "meta")[0])  # type: ignore[return-value]


def join(*, drop_id: int, buyer_id: int, due_at_ms: int | None = None) -> tuple[Place, dict[str, str]]:
    """Put the buyer in the room (idempotent: a buyer already in keeps their place); returns the
    place and the room's meta as `meta()` would (read in the same call). Status `absent`: no room.
    `due_at_ms` (now, when the drop has started): a room still waiting for its lottery answers
    status `due` and the buyer is not put in (draw it, then join again)."""
    keys = _keys(drop_id, "meta", "early", "late", "q", "adm")
    args = [buyer_id, "" if due_at_ms is None else due_at_ms, KEY_TTL_SECONDS]
    raw = _script(_JOIN)(keys=keys, args=args)
    place = Place(status=raw[0], position=int(raw[1]), ticket=int(raw[2]))
    if raw[0] == "absent":
        return place, {}
    return place, {"state": raw[3], "epoch": str(raw[4]), "rebuild_until": str(raw[5])}


def status(*, drop_id: int, buyer_ids: list[int]) -> RoomStatus:
    """Room state and the places of `buyer_ids`, read in one atomic call."""
    keys = _keys(drop_id, "meta", "early", "late", "q", "adm", "admn")
    raw = _script(_STATUS)(keys=keys, args=buyer_ids)
    if raw[0] == "absent":
        return RoomStatus(state="absent", epoch=0, places={})
    places: dict[int, Place] = {}
    for i, buyer_id in enumerate(buyer_ids):
        st, position, number, admno = raw[3 + 4 * i : 7 + 4 * i]
        if st == "admitted":
            places[buyer_id] = Place(st, deadline_ms=int(number), admission_no=int(admno))
        else:
            places[buyer_id] = Place(st, position=int(position), ticket=int(number))
    return RoomStatus(state=raw[0], epoch=int(raw[1]), places=places, rebuild_until_ms=int(raw[2]))


def begin_draw(*, drop_id: int) -> bool:
    """Freeze the lottery set (joins now queue in `late`); False if the room is not pre/drawing."""
    return bool(_script(_BEGIN_DRAW)(keys=_keys(drop_id, "meta")))


def early_members(*, drop_id: int) -> list[int]:
    return [int(u) for u in client().smembers(_keys(drop_id, "early")[0])]


def finish_draw(*, drop_id: int, order: list[int]) -> int:
    """Give the shuffled early buyers tickets 1..n, append the late ones, open; see module doc."""
    keys = _keys(drop_id, "meta", "early", "late", "q")
    return int(_script(_FINISH_DRAW)(keys=keys, args=[*order, KEY_TTL_SECONDS]))


def released(*, drop_id: int) -> int:
    """How many admissions were released so far (buyers who reserved); read before the free units."""
    return int(client().hget(_keys(drop_id, "meta")[0], "released") or 0)


def admit(
    *, drop_id: int, now_ms: int, rate: float, burst: float, capacity: int, ttl_ms: int, released_seen: int
) -> tuple[list[int], list[int]]:
    """Expire overdue admissions, then admit up to the rate and the free capacity: (expired, admitted).

    `capacity` is the drop's free units as PostgreSQL said, read after `released()` gave
    `released_seen`. A buyer's slot is released after their reservation commits, so a slot released
    after that read may belong to a reservation the capacity does not reflect yet: counting it as
    still taken keeps the admitter from admitting a buyer for a unit that is gone (it under-admits for
    one tick at most instead). Without it, 10,000 buyers for 1,000 units saw 1,002 admissions and two
    admitted buyers were refused `sold_out` (bench/README.md).
    """
    keys = _keys(drop_id, "meta", "q", "adm", "admn", "log", "bucket")
    args = [now_ms, repr(float(rate)), repr(float(burst)), capacity, ttl_ms, released_seen, KEY_TTL_SECONDS]
    expired, admitted = _script(_ADMIT)(keys=keys, args=args)
    return [int(u) for u in expired], [int(u) for u in admitted]


def release(*, drop_id: int, buyer_id: int) -> bool:
    """The buyer reserved: their admission no longer holds a slot."""
    return bool(_script(_RELEASE)(keys=_keys(drop_id, "adm", "admn", "meta"), args=[buyer_id]))


def admission_log(*, drop_id: int) -> list[int]:
    """Buyers in the order they were admitted."""
    return [int(u) for u in client().lrange(_keys(drop_id, "log")[0], 0, -1)]


def queue_length(*, drop_id: int) -> int:
    return int(client().zcard(_keys(drop_id, "q")[0]))
