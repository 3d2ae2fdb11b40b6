"""A buyer the merchant blocked gets no place in a drop's waiting room and holds no admission slot."""

import pytest

from commerce.abuse import blocklist
from commerce.abuse.blocks import block_buyer
from commerce.waiting_room import edge, store
from commerce.waiting_room import services as rooms
from tests.commerce.conftest import client_for
from tests.commerce.waiting_room.helpers import join
from tests.commerce.waiting_room.test_edge import (
    Django,
    assert_same_answer,
    auth_of,
    through_django,
    through_edge,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_blocklist():
    blocklist.forget()
    yield
    blocklist.forget()


def _block(shop, drop, buyer, scope="drop"):
    block_buyer(
        merchant_id=shop["merchant"].pk, drop_id=drop.pk, buyer_id=buyer.pk, scope=scope, by_user_id=None
    )


@pytest.mark.parametrize("scope", ["drop", "shop"])
def test_a_blocked_buyer_cannot_join_or_read_a_place(scope, private_redis, queued_drop, make_user, shop):
    drop = queued_drop(offered=5, limit=1)
    path = f"/api/v1/drops/{drop.pk}/queue/"
    buyer = make_user()
    client = client_for(buyer)
    _block(shop, drop, buyer, scope)
    for method in ("POST", "GET"):
        at_edge = through_edge(edge.QueueEdge(Django()), path, method=method, auth=auth_of(client))
        assert at_edge[0] == 403 and at_edge[2]["error"]["code"] == "buyer_blocked"
        assert_same_answer(at_edge, through_django(client, path, method))
    assert store.queue_length(drop_id=drop.pk) == 0  # no place taken


def test_a_buyer_blocked_after_joining_is_not_admitted_and_their_slot_goes_on(
    private_redis, queued_drop, make_user, shop
):
    drop = queued_drop(offered=1, limit=1, rate=1)  # one unit: one admission at a time
    first, second = make_user(), make_user()
    join(client_for(first), drop.pk)
    join(client_for(second), drop.pk)
    _block(shop, drop, first)
    # The first in line reaches the head but is not admitted: the slot goes straight back...
    assert rooms.tick(drop_id=drop.pk).admitted == []
    assert store.status(drop_id=drop.pk, buyer_ids=[first.pk]).places[first.pk].status == "none"
    # ...and the next tick admits the buyer behind (the token bucket refills at 1/s).
    later = int(store.client().hget(store._keys(drop.pk, "bucket")[0], "ts") or 0) + 2_000
    assert rooms.tick(drop_id=drop.pk, now_ms=later).admitted == [second.pk]
