"""The reserve hot path's SQL round trips, counted through the real HTTP stack (token auth).

The drop stampede benchmark is bound by round trips per request on 2 cores; these tests pin the
count so a regression shows up here rather than as a slower benchmark. Counts are statements the
view sends to PostgreSQL (CaptureQueriesContext, BEGIN and COMMIT included), never timings.
"""

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken

from commerce.abuse import blocklist
from commerce.api import auth
from commerce.models import DropBuyer, DropItem, IdempotencyKey, Reservation
from commerce.services import soldout_memo
from commerce.waiting_room import services as rooms
from realtime.models import OutboxEvent
from tests.commerce.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/reservations/"


def _reserve(client: Any, drop: Any, sku: Any, key: str | None = None) -> tuple[Any, list[str]]:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    body = {"drop_id": drop.pk, "sku_id": sku.pk, "quantity": 1}
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(URL, body, format="json", **headers)
    return response, [q["sql"] for q in ctx.captured_queries]


def _warm(client: Any, drop: Any, sku: Any) -> None:
    """One refused-by-validation request: puts the token in the process's auth cache."""
    bad = client.post(URL, {"drop_id": drop.pk, "sku_id": sku.pk, "quantity": 0}, format="json")
    assert bad.status_code == 400
    blocklist.blocked_buyers(drop.pk)  # the drop's blocked set: one query per process and cache window
    rooms.requires_admission(drop_id=drop.pk)  # the drop's waiting-room flag: likewise


@pytest.fixture(autouse=True)
def _fresh_auth_cache(settings: Any) -> None:
    auth.forget()
    blocklist.forget()
    rooms.forget_cached()
    # A slow box must not reload these between warm and count.
    settings.ABUSE_BLOCKLIST_CACHE_SECONDS = 600
    settings.COMMERCE_WAITING_ROOM_CACHE_SECONDS = 600


def test_reserve_is_one_statement_between_begin_and_commit(make_user, make_drop, shop):
    drop, sku = make_drop(live=True, offered=5), shop["tee"]
    client = client_for(make_user())
    _warm(client, drop, sku)
    response, sql = _reserve(client, drop, sku)
    assert response.status_code == 201, response.content
    assert len(sql) == 3, sql  # BEGIN, the reserve statement, COMMIT: no auth query, no reads
    reservation = Reservation.objects.get()
    assert str(reservation.pk) == response.json()["id"]
    event = OutboxEvent.objects.get(type="inventory.reserved")
    assert event.payload["reservation_id"] == str(reservation.pk)
    assert (event.payload["reserved"], event.payload["available"]) == (1, 4)
    assert DropBuyer.objects.get(drop=drop).units == 1


def test_keyed_reserve_has_no_savepoint(make_user, make_drop, shop):
    drop, sku = make_drop(live=True), shop["tee"]
    client = client_for(make_user())
    _warm(client, drop, sku)
    key = uuid.uuid4().hex
    response, sql = _reserve(client, drop, sku, key=key)
    assert response.status_code == 201, response.content
    assert not any("SAVEPOINT" in s for s in sql), sql
    assert len(sql) == 5, sql  # BEGIN, claim key, reserve, store response, COMMIT
    replay, _ = _reserve(client, drop, sku, key=key)
    assert replay.status_code == 201 and replay.json()["id"] == response.json()["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert Reservation.objects.count() == 1


@pytest.mark.parametrize("sold_out_seen_here", [False, True])
def test_sold_out_refusal_writes_nothing_and_needs_no_second_query(
    make_user, make_drop, shop, sold_out_seen_here
):
    drop, sku = make_drop(live=True, offered=1), shop["tee"]
    first = client_for(make_user())
    assert _reserve(first, drop, sku)[0].status_code == 201
    if not sold_out_seen_here:
        soldout_memo.clear()  # as if another web process had sold the last unit
    late = client_for(make_user())
    _warm(late, drop, sku)
    outbox_before = OutboxEvent.objects.count()
    response, sql = _reserve(late, drop, sku)
    assert response.status_code == 409 and response.json()["error"]["code"] == "sold_out"
    assert response.json()["error"]["details"] == {"available": 0, "requested": 1}
    # Sold out in another process: BEGIN, the refused statement, COMMIT. Seen here: the
    # process's sold-out memo answers without the database.
    assert len(sql) == (0 if sold_out_seen_here else 3), sql
    assert DropBuyer.objects.filter(drop=drop).count() == 1  # the late buyer got no counter row
    assert OutboxEvent.objects.count() == outbox_before
    item = DropItem.objects.get(drop=drop)
    assert (item.reserved, item.sold) == (1, 0)


def test_limit_refusal_explained_from_the_same_statement(make_user, make_drop, shop):
    drop, sku = make_drop(live=True, offered=5, limit=1), shop["tee"]
    client = client_for(make_user())
    assert _reserve(client, drop, sku)[0].status_code == 201
    response, _ = _reserve(client, drop, sku)
    assert response.status_code == 409 and response.json()["error"]["code"] == "limit_exceeded"
    assert DropBuyer.objects.get(drop=drop).units == 1
    assert DropItem.objects.get(drop=drop).reserved == 1


def test_deleted_token_is_refused_at_once(make_user, make_drop, shop):
    drop, sku = make_drop(live=True), shop["tee"]
    user = make_user()
    client = client_for(user)
    _warm(client, drop, sku)
    AuthToken.objects.filter(user=user).get().delete()  # post_delete signal clears the cache entry
    response, _ = _reserve(client, drop, sku)
    assert response.status_code == 401  # token authentication is listed first: WWW-Authenticate: Token
    assert response.json()["error"]["code"] == "authentication_failed"
    assert Reservation.objects.count() == 0 and IdempotencyKey.objects.count() == 0


def _sold_out_here(make_user, make_drop, shop):
    """A drop whose only unit this process sold: its sold-out memo knows."""
    drop, sku = make_drop(live=True, offered=1), shop["tee"]
    assert _reserve(client_for(make_user()), drop, sku)[0].status_code == 201
    return drop, sku


def test_keyed_refusal_from_the_memo_is_one_insert_and_replays(make_user, make_drop, shop):
    drop, sku = _sold_out_here(make_user, make_drop, shop)
    late = client_for(make_user())
    _warm(late, drop, sku)
    key = uuid.uuid4().hex
    response, sql = _reserve(late, drop, sku, key=key)
    assert response.status_code == 409 and response.json()["error"]["code"] == "sold_out"
    assert len(sql) == 1 and sql[0].startswith("INSERT INTO"), sql  # no BEGIN/claim/store/COMMIT
    stored = IdempotencyKey.objects.get(key=key)
    assert (stored.response_status, stored.response_body) == (409, response.json())
    soldout_memo.clear()  # the retry takes the ordinary path: the stored answer, not a new one
    replay, _ = _reserve(late, drop, sku, key=key)
    assert replay.status_code == 409 and replay.json() == response.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    other = late.post(URL, {"drop_id": drop.pk, "sku_id": sku.pk, "quantity": 2}, format="json",
                      HTTP_IDEMPOTENCY_KEY=key)  # fmt: skip
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert Reservation.objects.count() == 1 and DropBuyer.objects.filter(drop=drop).count() == 1


def test_retry_of_a_successful_reservation_replays_it_even_once_sold_out(make_user, make_drop, shop):
    drop, sku = make_drop(live=True, offered=1), shop["tee"]
    buyer = client_for(make_user())
    key = uuid.uuid4().hex
    first, _ = _reserve(buyer, drop, sku, key=key)  # takes the last unit: the memo learns sold out
    assert first.status_code == 201
    retry, _ = _reserve(buyer, drop, sku, key=key)
    assert retry.status_code == 201 and retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert Reservation.objects.count() == 1


def test_memo_refusal_is_not_taken_for_bad_input(make_user, make_drop, shop):
    drop, sku = _sold_out_here(make_user, make_drop, shop)
    late = client_for(make_user())
    bad = late.post(URL, {"drop_id": drop.pk, "sku_id": sku.pk, "quantity": 0}, format="json",
                    HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)  # fmt: skip
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    assert IdempotencyKey.objects.filter(response_status=409).count() == 0


def test_tokenless_keyed_reserve_in_a_queued_drop_is_refused_in_one_statement(make_user, make_drop, shop):
    """A script ignoring the waiting room, with an Idempotency-Key: the 403 is known before any claim
    (no BEGIN / claim / store / COMMIT), recorded in one statement so the same key replays it."""
    drop, sku = make_drop(live=True, offered=5), shop["tee"]
    rooms.configure(drop_id=drop.pk, merchant_id=drop.merchant_id, mode="on")
    client = client_for(make_user())
    _warm(client, drop, sku)
    key = uuid.uuid4().hex
    response, sql = _reserve(client, drop, sku, key=key)
    assert response.status_code == 403 and response.json()["error"]["code"] == "admission_required"
    assert len(sql) == 1, sql  # the refusal stored under the key
    replay, _ = _reserve(client, drop, sku, key=key)
    assert replay.status_code == 403 and replay.json() == response.json()
    assert Reservation.objects.count() == 0 and DropBuyer.objects.count() == 0
    assert IdempotencyKey.objects.filter(key=key).count() == 1
