"""Waiting-room use cases: configure, join, status, the admission tick, rebuild after Redis loss.

Rules (README "Waiting room"): buyers who join before the drop starts get a random place when it
starts (a lottery drawn with a CSPRNG); later arrivals queue in arrival order. The admitter
(`manage.py run_waiting_room`) admits at the room's rate while the drop has free units that no
pending admission holds; an admission lasts COMMERCE_WAITING_ROOM_ADMISSION_TTL_SECONDS, after which
its slot goes to the next in line. Redis unreachable: join/status answer 503 `waiting_room_paused`
and nobody new is admitted (tokens already issued still work: they are checked by signature and spent
in PostgreSQL). Redis back without the room's state: the room is rebuilt under a new epoch -- for
COMMERCE_WAITING_ROOM_REBUILD_SECONDS everyone who (re)joins enters a new lottery, then FIFO again.
"""

import logging
import math
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from commerce.abuse.blocklist import blocked_buyers, check_not_blocked
from commerce.errors import DropNotLive, InvalidCatalogData, NotFound
from commerce.models import Drop, DropState, StockShard
from commerce.waiting_room import store, tokens
from commerce.waiting_room.errors import NoWaitingRoom, WaitingRoomUnavailable
from commerce.waiting_room.models import RoomMode, WaitingRoom

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
RULE = "lottery for everyone who joined before the start, then first come, first served"
_STARTED = (DropState.LIVE, DropState.PAUSED, DropState.SOLD_OUT)


@dataclass(frozen=True)
class RoomConfig:
    """What the waiting room needs to know about its drop, read in one query."""

    drop_id: int
    state: str
    starts_at: datetime
    queued: bool
    rate: float  # buyers admitted per second
    free_units: int  # offered - reserved - sold over the drop's items
    opened_at: datetime | None
    epoch: int

    def started(self, now: datetime) -> bool:
        return self.state in _STARTED or (self.state == DropState.SCHEDULED and self.starts_at <= now)


def _queued(mode: str | None, offered: int) -> bool:
    if mode == RoomMode.ON:
        return True
    if mode == RoomMode.OFF:
        return False
    return offered >= settings.COMMERCE_WAITING_ROOM_MIN_UNITS


def load_config(*, drop_id: int) -> RoomConfig | None:
    """The drop's waiting-room configuration and free units; None if there is no such drop.

    One query (it runs on the reserve path once per drop and cache window): the items' own counters
    plus, for split hot items, their stock shards'.
    """
    row = (
        Drop.objects.filter(pk=drop_id)
        .annotate(offered_units=OFFERED_UNITS, free_units=FREE_UNITS)
        .values(
            "state", "starts_at", "offered_units", "free_units", "waiting_room__mode",
            "waiting_room__admit_per_second", "waiting_room__opened_at", "waiting_room__epoch",
        )
        .first()
    )  # fmt: skip
    if row is None:
        return None
    return RoomConfig(
        drop_id=drop_id,
        state=row["state"],
        starts_at=row["starts_at"],
        queued=_queued(row["waiting_room__mode"], row["offered_units"]),
        rate=row["waiting_room__admit_per_second"] or settings.COMMERCE_WAITING_ROOM_ADMIT_PER_SECOND,
        free_units=max(0, row["free_units"]),
        opened_at=row["waiting_room__opened_at"],
        epoch=row["waiting_room__epoch"] or 0,
    )


def _shard_sum(expression: Any) -> Coalesce:
    """Sum of `expression` over the drop's stock shards (0 when no item is split), as a subquery."""
    per_drop = (
        StockShard.objects.filter(item__drop_id=OuterRef("pk"))
        .values("item__drop_id")
        .annotate(n=Sum(expression))
        .values("n")
    )
    return Coalesce(Subquery(per_drop), 0, output_field=IntegerField())


# A drop's units over its items' own counters plus their stock shards' (split hot items), as annotations.
OFFERED_UNITS = Coalesce(Sum("items__offered"), 0) + _shard_sum(F("offered"))
FREE_UNITS = Coalesce(Sum(F("items__offered") - F("items__reserved") - F("items__sold")), 0) + _shard_sum(
    F("offered") - F("reserved") - F("sold")
)


# --- is a token needed? where does the room stand? (hot paths: cached per process) --------------------
# Every join and every poll of a queued drop needs its RoomConfig, and a stampede polls thousands of
# times a second: one aggregate query per poll was the queue endpoints' main cost. Each process keeps
# the answer COMMERCE_WAITING_ROOM_CACHE_SECONDS. What it decides there is advisory (the drop's state
# and the estimate shown to a waiting buyer, whether a token is asked for); admissions are bounded by
# the admitter's own fresh read and stock by PostgreSQL, never by this cache.
_configs: dict[int, tuple[float, RoomConfig | None]] = {}
_MAX_DROPS = 10_000


def cached_config(*, drop_id: int) -> RoomConfig | None:
    """`load_config`, answered from this process's memory when read within the cache window."""
    now = time.monotonic()
    hit = _configs.get(drop_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    config = load_config(drop_id=drop_id)
    if len(_configs) >= _MAX_DROPS:
        _configs.clear()
    _configs[drop_id] = (now + settings.COMMERCE_WAITING_ROOM_CACHE_SECONDS, config)
    return config


def requires_admission(*, drop_id: int) -> bool:
    """Whether reserving in this drop needs an admission token (cached COMMERCE_WAITING_ROOM_CACHE_SECONDS)."""
    config = cached_config(drop_id=drop_id)
    return config is not None and config.queued


def forget_cached(drop_id: int | None = None) -> None:
    """Drop this process's cached answers (after configure; tests)."""
    if drop_id is None:
        _configs.clear()
    else:
        _configs.pop(drop_id, None)


def configure(
    *, drop_id: int, merchant_id: int, mode: str, admit_per_second: float | None = None
) -> WaitingRoom:
    """The merchant turns the drop's waiting room on, off or back to auto, and sets its rate."""
    if mode not in RoomMode.values:
        raise InvalidCatalogData("mode must be auto, on or off.", details={"field": "mode"})
    if admit_per_second is not None and not 0 < admit_per_second <= 100_000:
        raise InvalidCatalogData(
            "admit_per_second must be above 0 and at most 100000.", details={"field": "admit_per_second"}
        )
    if not Drop.objects.filter(pk=drop_id, merchant_id=merchant_id).exists():
        raise NotFound("Drop not found.", details={"resource": "drop", "id": drop_id})
    room, _ = WaitingRoom.objects.update_or_create(
        drop_id=drop_id, defaults={"mode": mode, "admit_per_second": admit_per_second}
    )
    forget_cached(drop_id)
    return room


# --- Redis side --------------------------------------------------------------------------------------
@contextmanager
def _redis_or_paused(drop_id: int) -> Iterator[None]:
    """Map "Redis does not answer" to the paused answer (503 + Retry-After)."""
    try:
        yield
    except redis.RedisError as exc:
        log.warning("waiting room of drop %s paused: %s", drop_id, exc)
        raise WaitingRoomUnavailable(
            "The waiting room is paused: its queue store does not answer. Admitted buyers can still "
            "reserve; try again in a few seconds.",
            details={"drop_id": drop_id, "retry_after": RETRY_AFTER_SECONDS},
        ) from exc


def _now_ms() -> int:
    return int(time.time() * 1000)


def _mark_opened(config: RoomConfig) -> None:
    if config.opened_at is None:
        room, _ = WaitingRoom.objects.get_or_create(drop_id=config.drop_id)
        WaitingRoom.objects.filter(pk=room.pk, opened_at__isnull=True).update(opened_at=timezone.now())


def _rebuild(config: RoomConfig, now_ms: int) -> None:
    """Redis lost a room that had opened: start a new epoch with a rejoin lottery window."""
    bumped = WaitingRoom.objects.filter(pk=config.drop_id, epoch=config.epoch).update(epoch=F("epoch") + 1)
    epoch = WaitingRoom.objects.values_list("epoch", flat=True).get(pk=config.drop_id)
    until = now_ms + int(settings.COMMERCE_WAITING_ROOM_REBUILD_SECONDS * 1000)
    if store.create(drop_id=config.drop_id, state="pre", epoch=epoch, rebuild_until_ms=until) and bumped:
        log.warning("waiting room of drop %s lost its queue; rebuilding as epoch %s", config.drop_id, epoch)


def draw_lottery(*, drop_id: int) -> int:
    """Give everyone who joined before the start a random place (CSPRNG shuffle) and open the queue."""
    rng = secrets.SystemRandom()
    for _ in range(5):  # -2: the set changed between the read and the script (a stale draw); redo
        if not store.begin_draw(drop_id=drop_id):
            return 0
        order = store.early_members(drop_id=drop_id)
        rng.shuffle(order)
        given = store.finish_draw(drop_id=drop_id, order=order)
        if given != -2:
            return max(given, 0)
    return 0


def _due_to_draw(meta: dict[str, str], *, started: bool, now_ms: int) -> bool:
    """The drop has started and its room still waits for the lottery (past any rebuild window)."""
    return (
        started and meta.get("state") in ("pre", "drawing") and now_ms >= int(meta.get("rebuild_until") or 0)
    )


def ensure_room(config: RoomConfig, *, now_ms: int | None = None) -> dict[str, str]:
    """Create, rebuild or open the room as the drop's state requires; returns its meta. Redis errors propagate."""
    now_ms = _now_ms() if now_ms is None else now_ms
    meta = store.meta(drop_id=config.drop_id)
    started = config.started(timezone.now())
    if not meta:
        # Rare (first join, or Redis lost the room): decide on a fresh read, not a cached config.
        forget_cached(config.drop_id)
        config = load_config(drop_id=config.drop_id) or config
        if started and config.opened_at is not None:
            _rebuild(config, now_ms)
        else:
            store.create(drop_id=config.drop_id, state="pre", epoch=config.epoch)
        meta = store.meta(drop_id=config.drop_id)
    if _due_to_draw(meta, started=started, now_ms=now_ms):
        draw_lottery(drop_id=config.drop_id)
        _mark_opened(config)
        forget_cached(config.drop_id)  # opened_at is set now
        meta = store.meta(drop_id=config.drop_id)
    return meta


def room_places(config: RoomConfig, buyer_ids: list[int]) -> tuple[dict[str, str], store.RoomStatus]:
    """The room's meta and these buyers' places: one Redis call when the room needs nothing done
    (a poll's usual case), else `ensure_room` first and the read again. Redis errors propagate."""
    room = store.status(drop_id=config.drop_id, buyer_ids=buyer_ids)
    meta = room.meta()
    if not meta or _due_to_draw(meta, started=config.started(timezone.now()), now_ms=_now_ms()):
        ensure_room(config)
        room = store.status(drop_id=config.drop_id, buyer_ids=buyer_ids)
    return room.meta(), room


def _config_for_buyer(drop_id: int, buyer_id: int) -> RoomConfig:
    config = cached_config(drop_id=drop_id)
    if config is None:
        raise NotFound("Drop not found.", details={"resource": "drop", "id": drop_id})
    if not config.queued:
        raise NoWaitingRoom("This drop has no waiting room: reserve directly.", details={"drop_id": drop_id})
    if config.state == DropState.ENDED:
        raise DropNotLive("The drop is ended.", details={"state": config.state})
    # A buyer the merchant blocked could never reserve: no place in line, no admission (403, from
    # the process's cached block list, as the reserve path asks it).
    check_not_blocked(drop_id=drop_id, buyer_id=buyer_id)
    return config


def describe(
    *, config: RoomConfig, meta: dict[str, str], buyer_id: int, place: store.Place
) -> dict[str, Any]:
    """The buyer's view of their place (API body and WebSocket `queue` frame)."""
    state = meta.get("state", "absent")
    epoch = int(meta.get("epoch") or 0)
    body: dict[str, Any] = {
        "drop_id": config.drop_id,
        "status": place.status,
        "position": place.position or None,
        "ticket": place.ticket or None,
        "eta_seconds": math.ceil(place.position / config.rate) if place.position else None,
        "admit_per_second": config.rate,
        "rule": RULE,
        "room": state,
        "drop_state": config.state,  # sold_out / ended: stop waiting
    }
    until = int(meta.get("rebuild_until") or 0)
    if state in ("pre", "drawing") and until > _now_ms():
        body["rebuilding_until_ms"] = until
        body["message"] = (
            "The queue was lost in an outage and is being rebuilt: everyone who joins before "
            "rebuilding_until_ms gets a random place in a new lottery."
        )
    if place.status == "admitted":
        jti = tokens.make_jti(
            drop_id=config.drop_id,
            epoch=epoch,
            admission_no=place.admission_no,
            deadline_ms=place.deadline_ms,
        )
        admission = tokens.Admission(config.drop_id, buyer_id, jti, place.deadline_ms)
        body["admission_token"] = tokens.sign(admission)
        body["admission_expires_at_ms"] = place.deadline_ms
    return body


def join(*, drop_id: int, buyer_id: int) -> dict[str, Any]:
    """Enter the drop's waiting room (idempotent: a buyer who is in keeps their place)."""
    config = _config_for_buyer(drop_id, buyer_id)
    with _redis_or_paused(drop_id):
        # One Redis call when the room needs nothing done (a join's usual case); otherwise the room
        # is created, rebuilt or drawn first (`due`: the drop started, its lottery is not drawn yet,
        # so this buyer is a late arrival) and the buyer joins again.
        due_at_ms = _now_ms() if config.started(timezone.now()) else None
        place, meta = store.join(drop_id=drop_id, buyer_id=buyer_id, due_at_ms=due_at_ms)
        for _ in range(2):  # "absent" again: Redis lost the room between ensure and join
            if place.status not in ("absent", "due"):
                break
            ensure_room(config)
            place, meta = store.join(drop_id=drop_id, buyer_id=buyer_id)
            if place.status == "absent":
                config = _config_for_buyer(drop_id, buyer_id)
        return describe(config=config, meta=meta, buyer_id=buyer_id, place=place)


def queue_status(*, drop_id: int, buyer_id: int) -> dict[str, Any]:
    """Where the buyer stands: lottery / pending / queued (position, eta) / admitted (token) / none."""
    config = _config_for_buyer(drop_id, buyer_id)
    with _redis_or_paused(drop_id):
        meta, room = room_places(config, [buyer_id])
        place = room.places.get(buyer_id, store.Place("none"))
        return describe(config=config, meta=meta, buyer_id=buyer_id, place=place)


@dataclass(frozen=True)
class TickResult:
    drop_id: int
    expired: list[int]
    admitted: list[int]


def tick(*, drop_id: int, now_ms: int | None = None) -> TickResult:
    """One admission step for a drop: open it if due, expire overdue admissions, admit the next buyers."""
    released_seen = store.released(drop_id=drop_id)  # before the free units: see store.admit
    config = load_config(drop_id=drop_id)
    if config is None or not config.queued or not config.started(timezone.now()):
        return TickResult(drop_id, [], [])
    now_ms = _now_ms() if now_ms is None else now_ms
    meta = ensure_room(config, now_ms=now_ms)
    if meta.get("state") != "open":
        return TickResult(drop_id, [], [])
    expired, admitted = store.admit(
        drop_id=drop_id,
        now_ms=now_ms,
        rate=config.rate,
        burst=max(1.0, config.rate),
        capacity=config.free_units if config.state == DropState.LIVE else 0,
        ttl_ms=int(settings.COMMERCE_WAITING_ROOM_ADMISSION_TTL_SECONDS * 1000),
        released_seen=released_seen,
    )
    # Buyers blocked after they joined reach the head of the line too: their slot goes straight back
    # (counted as a release, so the next tick hands it on) instead of being held for the admission TTL.
    blocked = blocked_buyers(drop_id) if admitted else frozenset()
    for buyer_id in (b for b in admitted if b in blocked):
        store.release(drop_id=drop_id, buyer_id=buyer_id)
    return TickResult(drop_id, expired, [b for b in admitted if b not in blocked])


def queued_drop_ids(*, now: datetime | None = None) -> list[int]:
    """Drops whose waiting room the admitter must run: started (or due) and queued."""
    now = now or timezone.now()
    started = Drop.objects.filter(Q(state__in=_STARTED) | Q(state=DropState.SCHEDULED, starts_at__lte=now))
    rows = started.annotate(offered_units=OFFERED_UNITS, free_units=FREE_UNITS).values_list(
        "pk", "waiting_room__mode", "offered_units"
    )
    return [pk for pk, mode, offered in rows if _queued(mode, offered)]


def tick_all(*, now_ms: int | None = None) -> list[TickResult]:
    """One admission step for every queued drop (the admitter's loop body); a Redis error skips a drop."""
    results = []
    for drop_id in queued_drop_ids():
        try:
            results.append(tick(drop_id=drop_id, now_ms=now_ms))
        except redis.RedisError as exc:
            log.warning("waiting room of drop %s paused: %s", drop_id, exc)
    return results


def release_slot(*, drop_id: int, buyer_id: int) -> None:
    """After a reservation committed: the buyer's admission no longer holds a slot (best effort)."""
    try:
        store.release(drop_id=drop_id, buyer_id=buyer_id)
    except redis.RedisError as exc:  # the admission then simply expires: slower, never unsafe
        log.warning("could not release the admission of buyer %s in drop %s: %s", buyer_id, drop_id, exc)
