"""The per-process sold-out memo: losers of a stampede skip the database, and never for long."""

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from commerce.errors import SoldOut
from commerce.models import Drop, DropItem, DropState, Reservation
from commerce.services import drops, soldout_memo
from commerce.services.reservations import cancel_reservation, reserve_stock

pytestmark = pytest.mark.django_db(transaction=True)


class _Clock:
    """Stands in for the memo's `time` module: a monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(soldout_memo, "time", fake)
    return fake


def _sell_out(make_drop: Any, make_user: Any, shop: dict[str, Any], units: int = 2) -> tuple[Any, list[Any]]:
    drop = make_drop(offered=units, limit=units)
    buyer = make_user()
    held = [
        reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=buyer.pk, quantity=1)
        for _ in range(units)
    ]
    return drop, held


def _refused_without_a_query(drop_id: int, sku_id: int, buyer_id: int) -> SoldOut:
    with CaptureQueriesContext(connection) as queries, pytest.raises(SoldOut) as refused:
        reserve_stock(drop_id=drop_id, sku_id=sku_id, buyer_id=buyer_id, quantity=1)
    assert len(queries) == 0
    return refused.value


def test_after_the_last_unit_went_the_next_buyer_is_refused_from_memory(make_drop, make_user, shop, clock):
    drop, _ = _sell_out(make_drop, make_user, shop)

    error = _refused_without_a_query(drop.pk, shop["tee"].pk, make_user().pk)

    assert error.code == "sold_out"
    assert error.details == {"available": 0, "requested": 1}
    assert Reservation.objects.filter(drop=drop).count() == 2


def test_a_refusal_seen_in_the_database_is_remembered_too(make_drop, make_user, shop, clock):
    drop = make_drop(offered=1, limit=1)
    DropItem.objects.filter(drop=drop).update(sold=1)  # sold out by "another process"
    with pytest.raises(SoldOut):
        reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=make_user().pk, quantity=1)

    _refused_without_a_query(drop.pk, shop["tee"].pk, make_user().pk)


def test_units_given_back_in_this_process_are_offered_at_once(make_drop, make_user, shop, clock):
    drop, held = _sell_out(make_drop, make_user, shop)
    assert soldout_memo.is_sold_out(drop_id=drop.pk, sku_id=shop["tee"].pk)

    cancel_reservation(reservation_id=held[0].pk, buyer_id=held[0].buyer_id)

    assert not soldout_memo.is_sold_out(drop_id=drop.pk, sku_id=shop["tee"].pk)
    again = reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=make_user().pk, quantity=1)
    assert again.quantity == 1


def test_a_restock_is_offered_at_once(make_drop, make_user, shop, clock):
    drop, _ = _sell_out(make_drop, make_user, shop)

    drops.restock_drop_item(drop_id=drop.pk, sku_id=shop["tee"].pk, added=1)

    assert reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=make_user().pk, quantity=1)


def test_units_given_back_elsewhere_are_offered_once_the_memo_expires(
    make_drop, make_user, shop, clock, settings
):
    settings.COMMERCE_SOLD_OUT_MEMO_SECONDS = 1.0
    drop, _ = _sell_out(make_drop, make_user, shop)
    # Another process releases a unit (and re-opens the drop): this process's memo is not told.
    DropItem.objects.filter(drop=drop).update(reserved=1)
    Drop.objects.filter(pk=drop.pk).update(state=DropState.LIVE)
    _refused_without_a_query(drop.pk, shop["tee"].pk, make_user().pk)

    clock.now += 1.01

    assert reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=make_user().pk, quantity=1)


def test_the_last_unit_taken_in_a_rolled_back_transaction_is_not_remembered(
    make_drop, make_user, shop, clock
):
    drop = make_drop(offered=1, limit=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=make_user().pk, quantity=1)
        raise RuntimeError("the request failed after reserving")

    assert not soldout_memo.is_sold_out(drop_id=drop.pk, sku_id=shop["tee"].pk)
    assert reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=make_user().pk, quantity=1)


def test_memo_off(make_drop, make_user, shop, clock, settings):
    settings.COMMERCE_SOLD_OUT_MEMO_SECONDS = 0
    drop, _ = _sell_out(make_drop, make_user, shop)

    assert not soldout_memo.is_sold_out(drop_id=drop.pk, sku_id=shop["tee"].pk)
    with CaptureQueriesContext(connection) as queries, pytest.raises(SoldOut):
        reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=make_user().pk, quantity=1)
    assert len(queries) >= 1
