"""Redis killed mid-queue: no oversell, the room pauses (503 + Retry-After), then is rebuilt.

The documented recovery (README "Waiting room"): while Redis is down, joining and reading a place
answer 503 `waiting_room_paused`, nobody new is admitted, reserving still needs a valid token and
tokens already issued still work once each (spent in PostgreSQL). When Redis answers again without
the room, the room starts a new epoch: for COMMERCE_WAITING_ROOM_REBUILD_SECONDS everyone who joins
enters a new lottery, then the queue opens and admissions resume.
"""

import pytest
import redis

from commerce.waiting_room import services as rooms
from commerce.waiting_room import store
from commerce.waiting_room.models import WaitingRoom
from tests.commerce.waiting_room.helpers import (
    error_code,
    in_threads,
    join,
    many_buyers,
    place,
    reserve,
    stock_state,
)

pytestmark = pytest.mark.django_db(transaction=True)

UNITS, BUYERS = 30, 60


def test_redis_killed_mid_queue(private_redis, queued_drop, shop, settings):
    settings.COMMERCE_WAITING_ROOM_REBUILD_SECONDS = 120.0  # the admitter's clock jumps past it below
    drop = queued_drop(offered=UNITS, limit=1, rate=5)
    sku = shop["tee"].pk
    pairs = many_buyers(BUYERS)
    clients = {u.pk: c for u, c in pairs}
    buyers = [u.pk for u, _ in pairs]
    for buyer in buyers:
        join(clients[buyer], drop.pk)
    first = rooms.tick(drop_id=drop.pk).admitted
    assert first == buyers[:5]  # the rate's burst: 5 buyers
    tokens = {b: place(clients[b], drop.pk)["admission_token"] for b in first}
    assert reserve(clients[first[0]], drop.pk, sku, tokens[first[0]])[0] == 201

    private_redis.kill()

    # Paused: a clear 503 with Retry-After; the admitter skips the room without crashing.
    for method in ("post", "get"):
        response = getattr(clients[buyers[20]], method)(f"/api/v1/drops/{drop.pk}/queue/")
        assert response.status_code == 503
        assert error_code(response.json()) == "waiting_room_paused"
        assert int(response["Retry-After"]) >= 1
        assert "paused" in response.json()["error"]["message"]
    assert rooms.tick_all() == []
    # Tokens issued before the loss still work, once; no token, no reservation.
    assert reserve(clients[first[1]], drop.pk, sku, tokens[first[1]])[0] == 201
    status, body = reserve(clients[first[1]], drop.pk, sku, tokens[first[1]])
    assert (status, error_code(body)) == (403, "admission_used")
    status, body = reserve(clients[buyers[30]], drop.pk, sku, None)
    assert (status, error_code(body)) == (403, "admission_required")
    assert stock_state(drop.pk)["reserved"] == 2

    private_redis.start()  # the same port, empty: the room's state is gone
    store._client.cache_clear()  # new connections (redis-py would reconnect too; be explicit)

    # The room is rebuilt under a new epoch, with a rejoin lottery window.
    me = place(clients[buyers[10]], drop.pk)
    assert me["status"] == "none" and me["room"] == "pre" and "rebuilding_until_ms" in me
    assert "rebuilt" in me["message"]
    assert WaitingRoom.objects.get(pk=drop.pk).epoch == 1
    rejoined = in_threads(lambda b: join(clients[b], drop.pk), buyers[2:])
    assert {r["status"] for r in rejoined} == {"lottery"}
    # The window ends: the admitter (its clock passed in) draws the new lottery and admits.
    now = me["rebuilding_until_ms"] + 1
    assert len(rooms.tick(drop_id=drop.pk, now_ms=now).admitted) == 5
    assert store.status(drop_id=drop.pk, buyer_ids=[]).state == "open"

    # Admissions resume until sold out; tokens of the old epoch were spent or still count once.
    assert reserve(clients[first[2]], drop.pk, sku, tokens[first[2]])[0] == 201
    for _ in range(60):
        log = store.admission_log(drop_id=drop.pk)
        pending = [b for b in log if place(clients[b], drop.pk)["status"] == "admitted"]
        for buyer in pending:
            token = place(clients[buyer], drop.pk)["admission_token"]
            status, body = reserve(clients[buyer], drop.pk, sku, token)
            assert status in (201, 409), body  # 409: first[3]/first[4] may hold a unit and be re-admitted
        state = stock_state(drop.pk)
        assert state["reserved"] + state["sold"] <= state["offered"]
        if state["reserved"] == UNITS:
            break
        now += 5000  # a refused admitted buyer (limit reached) holds a slot until its admission expires
        rooms.tick(drop_id=drop.pk, now_ms=now)
    state = stock_state(drop.pk)
    assert state["reserved"] == UNITS and state["reservation_rows"] == UNITS  # sold out, never over
    log = store.admission_log(drop_id=drop.pk)
    assert len(log) == len(set(log))  # nobody admitted twice in the new epoch


def test_redis_down_from_the_start_pauses_joins(private_redis, queued_drop, make_user, shop):
    drop = queued_drop(offered=5, limit=1)
    private_redis.kill()
    from tests.commerce.conftest import client_for

    response = client_for(make_user()).post(f"/api/v1/drops/{drop.pk}/queue/")
    assert response.status_code == 503 and response["Retry-After"]
    assert error_code(response.json()) == "waiting_room_paused"
    with pytest.raises(redis.RedisError):
        store.meta(drop_id=drop.pk)
