"""The admitter never admits a buyer for a unit a reservation has just taken.

A tick reads the drop's free units from PostgreSQL, then admits in Redis. A buyer who reserves in
between commits (one unit less) and then releases their admission's slot: a tick that saw the free
units before that commit and the slots after the release counted that unit twice, as free and as no
longer held, and admitted a buyer who could only be refused `sold_out` (two of 1,002 admitted
buyers in a 10,000-buyer stampede for 1,000 units). The race is forced here by running the
reservation between the tick's two reads.
"""

from typing import Any

import pytest

from commerce.waiting_room import services as rooms
from commerce.waiting_room import store
from tests.commerce.waiting_room.helpers import join, many_buyers, place, reserve, stock_state


@pytest.mark.django_db(transaction=True)
def test_a_reservation_between_the_ticks_reads_is_not_counted_as_a_free_unit(
    private_redis: Any, queued_drop: Any, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    drop = queued_drop(offered=2, limit=1, rate=1000.0)
    sku = shop["tee"].pk
    pairs = many_buyers(4, prefix="cap")
    clients = {u.pk: c for u, c in pairs}
    for client in clients.values():
        assert join(client, drop.pk)["status"] == "queued"

    first = rooms.tick(drop_id=drop.pk)
    assert len(first.admitted) == 2  # two units, two admissions
    buyer = first.admitted[0]
    token = place(clients[buyer], drop.pk)["admission_token"]

    real_load = rooms.load_config
    raced: list[int] = []

    def load_then_reserve(*, drop_id: int) -> Any:
        config = real_load(drop_id=drop_id)
        if not raced:  # the tick's read of the free units (2); the reserve below reads them too
            raced.append(drop_id)
            status, body = reserve(clients[buyer], drop.pk, sku, token)  # commits, then releases its slot
            assert status == 201, body
        return config

    monkeypatch.setattr(rooms, "load_config", load_then_reserve)
    second = rooms.tick(drop_id=drop.pk)
    monkeypatch.setattr(rooms, "load_config", real_load)

    # One unit is reserved, the other is held by the second admitted buyer: nobody else may be admitted.
    assert second.admitted == []
    assert store.status(drop_id=drop.pk, buyer_ids=[]).state == "open"
    assert stock_state(drop.pk)["reserved"] == 1
    # The next tick sees the reservation in PostgreSQL and still admits nobody (no unit is free).
    assert rooms.tick(drop_id=drop.pk).admitted == []
    # The held admission lapses: its unit goes to the next buyer in line.
    later = rooms.tick(drop_id=drop.pk, now_ms=10**15)
    assert later.expired == [first.admitted[1]]
    assert len(later.admitted) == 1
