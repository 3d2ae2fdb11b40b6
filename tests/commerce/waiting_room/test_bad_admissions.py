"""Bad admission tokens on a queued drop: 403 with the error shape, and nothing reserved or spent."""

import time

import pytest

from commerce.waiting_room import services as rooms
from commerce.waiting_room import tokens
from tests.commerce.conftest import client_for
from tests.commerce.waiting_room.helpers import error_code, in_threads, join, place, reserve, stock_state

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admitted(private_redis, queued_drop, make_user, shop):
    """A live queued drop (5 units), buyer A admitted with a token, buyer B admitted too."""
    drop = queued_drop(offered=5, limit=1, rate=10)
    a, b = make_user(), make_user()
    ca, cb = client_for(a), client_for(b)
    join(ca, drop.pk)
    join(cb, drop.pk)
    result = rooms.tick(drop_id=drop.pk)
    assert result.admitted == [a.pk, b.pk]
    token_a = place(ca, drop.pk)["admission_token"]
    token_b = place(cb, drop.pk)["admission_token"]
    return {
        "drop": drop,
        "sku": shop["tee"].pk,
        "a": a,
        "ca": ca,
        "cb": cb,
        "token_a": token_a,
        "token_b": token_b,
    }


def _refused(client, drop_id, sku_id, token, code):
    before = stock_state(drop_id)
    status, body = reserve(client, drop_id, sku_id, token)
    assert (status, error_code(body)) == (403, code), body
    assert stock_state(drop_id) == before  # nothing reserved, no token spent


def test_reserve_without_a_token_is_refused(admitted):
    _refused(admitted["ca"], admitted["drop"].pk, admitted["sku"], None, "admission_required")


def test_forged_and_garbage_tokens_are_refused(admitted):
    token = admitted["token_a"]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")  # signature no longer matches
    _refused(admitted["ca"], admitted["drop"].pk, admitted["sku"], forged, "admission_invalid")
    _refused(admitted["ca"], admitted["drop"].pk, admitted["sku"], "not-a-token", "admission_invalid")
    # A token signed by someone who knows the format but not the key.
    from django.core import signing

    body = {"d": admitted["drop"].pk, "u": admitted["a"].pk, "j": "x", "x": 2**50}
    foreign = signing.dumps(body, key="not-our-secret-key-" * 3, salt=tokens.SALT)
    _refused(admitted["ca"], admitted["drop"].pk, admitted["sku"], foreign, "admission_invalid")


def test_expired_token_is_refused(admitted):
    drop, buyer = admitted["drop"], admitted["a"]
    expired = tokens.sign(
        tokens.Admission(drop.pk, buyer.pk, f"{drop.pk}.0.99.1", int(time.time() * 1000) - 1)
    )
    _refused(admitted["ca"], drop.pk, admitted["sku"], expired, "admission_expired")


def test_another_buyers_token_is_refused(admitted):
    _refused(admitted["cb"], admitted["drop"].pk, admitted["sku"], admitted["token_a"], "admission_not_yours")


def test_a_token_for_another_drop_is_refused(admitted, queued_drop):
    other = queued_drop(offered=5, limit=1, title="Other")
    _refused(admitted["ca"], other.pk, admitted["sku"], admitted["token_a"], "admission_not_yours")


def test_a_token_is_single_use(admitted):
    drop, sku = admitted["drop"].pk, admitted["sku"]
    status, body = reserve(admitted["ca"], drop, sku, admitted["token_a"])
    assert status == 201, body
    assert stock_state(drop)["reserved"] == 1
    _refused(admitted["ca"], drop, sku, admitted["token_a"], "admission_used")
    # The reservation gave the admission's slot back in Redis.
    assert place(admitted["ca"], drop)["status"] == "none"


def test_concurrent_uses_of_one_token_reserve_once(admitted, make_user):
    drop, sku, token = admitted["drop"].pk, admitted["sku"], admitted["token_a"]
    outcomes = in_threads(
        lambda _: reserve(client_for(admitted["a"]), drop, sku, token), list(range(8)), threads=8
    )
    statuses = sorted("201" if s == 201 else f"{s}:{error_code(b)}" for s, b in outcomes)
    assert statuses == ["201"] + ["403:admission_used"] * 7, outcomes
    state = stock_state(drop)
    assert (state["reserved"], state["reservation_rows"], state["admission_uses"]) == (1, 1, 1)


def test_a_refused_reservation_leaves_the_token_usable(admitted, shop):
    """Sold out on one SKU (409) does not burn the admission: the same token still reserves."""
    drop, sku = admitted["drop"].pk, admitted["sku"]
    status, body = reserve(admitted["ca"], drop, shop["wearable"].pk, admitted["token_a"])  # not in this drop
    assert status == 404, body
    assert stock_state(drop)["admission_uses"] == 0
    status, body = reserve(admitted["ca"], drop, sku, admitted["token_a"])
    assert status == 201, body


def test_drops_without_a_room_need_no_token(private_redis, make_drop, make_user, shop):
    drop = make_drop(offered=5, limit=1)  # 5 units < COMMERCE_WAITING_ROOM_MIN_UNITS: auto = off
    status, body = reserve(client_for(make_user()), drop.pk, shop["tee"].pk, None)
    assert status == 201, body
    response = client_for(make_user()).post(f"/api/v1/drops/{drop.pk}/queue/")
    assert (response.status_code, error_code(response.json())) == (409, "no_waiting_room")


def test_auto_mode_turns_the_room_on_above_the_threshold(private_redis, make_drop, make_user, shop, settings):
    settings.COMMERCE_WAITING_ROOM_MIN_UNITS = 20
    drop = make_drop(offered=20, limit=1)
    status, body = reserve(client_for(make_user()), drop.pk, shop["tee"].pk, None)
    assert (status, error_code(body)) == (403, "admission_required")
    assert stock_state(drop.pk)["reserved"] == 0


def test_merchant_turns_the_room_on_and_off(private_redis, make_drop, make_user, shop):
    drop = make_drop(offered=5, limit=1)
    owner = client_for(shop["owner"])
    url = f"/api/v1/merchants/{shop['merchant'].pk}/drops/{drop.pk}/waiting-room/"
    assert owner.get(url).json() == {
        "drop_id": drop.pk,
        "mode": "auto",
        "admit_per_second": None,
        "queued": False,
    }
    response = owner.put(url, {"mode": "on", "admit_per_second": 25}, format="json")
    assert response.status_code == 200 and response.json()["queued"] is True
    status, body = reserve(client_for(make_user()), drop.pk, shop["tee"].pk, None)
    assert (status, error_code(body)) == (403, "admission_required")
    bad = owner.put(url, {"mode": "sometimes"}, format="json")
    assert (bad.status_code, error_code(bad.json())) == (400, "validation_error")
    stranger = client_for(make_user()).put(url, {"mode": "off"}, format="json")
    assert stranger.status_code == 404
    assert owner.put(url, {"mode": "off"}, format="json").json()["queued"] is False
    assert reserve(client_for(make_user()), drop.pk, shop["tee"].pk, None)[0] == 201
