"""A hot item's stock split over several rows (#17 item 3), on real PostgreSQL with real threads.

Each shard row carries the never-oversold CHECK; reserves take a shard no other transaction holds,
fall back to any shard with room, and sold-out, restock, pause, expiry, payment and the per-buyer
limit keep working across the split with the same events and counters as an unsplit item.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from commerce.errors import DropNotLive, InvalidCatalogData, SoldOut
from commerce.models import DropBuyer, DropItem, DropState, Reservation, ReservationStatus, StockShard
from commerce.services import drops, soldout_memo
from commerce.services.orders import mark_order_paid, place_order
from commerce.services.reservations import release_expired_reservations, reserve_stock
from commerce.services.stock_split import split_item_stock
from realtime.models import OutboxEvent
from tests.commerce import test_reservation_races as races
from tests.commerce.conftest import SHIP_TO, client_for, counters

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_memo():
    soldout_memo.clear()
    yield
    soldout_memo.clear()


@pytest.fixture
def split_everything(settings):
    """Every drop item created from now on is split over 4 shards."""
    settings.COMMERCE_STOCK_SHARDS = 4
    settings.COMMERCE_STOCK_SHARD_MIN_UNITS = 1


def _split_drop(make_drop, *, offered: int, shards: int, limit: int = 2, **kw):
    drop = make_drop(offered=offered, limit=limit, **kw)
    for item in drop.items.all():
        split_item_stock(item_id=item.pk, shards=shards)
    return drop


def _shards(drop) -> list[tuple[int, int, int]]:
    return list(StockShard.objects.filter(item__drop=drop).values_list("offered", "reserved", "sold"))


def _events(kind: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(type=kind).order_by("sequence"))


def test_split_moves_the_free_units_to_the_shards(make_drop, shop):
    drop = _split_drop(make_drop, offered=10, shards=4)
    item = DropItem.objects.get(drop=drop)
    assert (item.offered, item.reserved, item.sold) == (0, 0, 0)  # all of it is on the shards now
    assert sorted(_shards(drop), reverse=True) == [(3, 0, 0), (3, 0, 0), (2, 0, 0), (2, 0, 0)]
    assert counters(drop, shop["tee"]) == (10, 0, 0)
    with pytest.raises(InvalidCatalogData):
        split_item_stock(item_id=item.pk, shards=2)  # once per item


def test_each_shard_row_refuses_to_be_oversold(make_drop):
    drop = _split_drop(make_drop, offered=8, shards=2)
    shard = StockShard.objects.filter(item__drop=drop).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        StockShard.objects.filter(pk=shard.pk).update(reserved=shard.offered + 1)


def test_200_buyers_race_for_60_units_split_over_8_rows(make_user, make_drop, shop):
    drop = _split_drop(make_drop, offered=60, shards=8, limit=5)
    sku = shop["tee"]
    clients = [client_for(make_user()) for _ in range(200)]

    results = races._race(50, [races._reserve_job(c, drop.pk, sku.pk) for c in clients])

    outcomes = Counter(results)
    assert outcomes[(201, None)] == 60 and outcomes[(409, "sold_out")] == 140
    assert counters(drop, sku) == (60, 60, 0)
    for offered, reserved, sold in _shards(drop):
        assert reserved + sold == offered  # every row full, none over
    held = Reservation.objects.filter(drop=drop, status=ReservationStatus.ACTIVE)
    assert held.count() == 60 and held.filter(shard__isnull=True).count() == 0
    assert len({r.shard_id for r in held}) == 8  # the winners spread over the rows
    assert len(_events("inventory.reserved")) == 60
    (sold_out,) = _events("inventory.sold_out")  # announced once, by the last row to empty
    assert sold_out.payload | {"drop_id": drop.pk, "sku_id": sku.pk} == {
        "drop_id": drop.pk, "sku_id": sku.pk, "offered": 60, "reserved": 60, "sold": 0, "available": 0,
    }  # fmt: skip
    drop.refresh_from_db()
    assert drop.state == DropState.SOLD_OUT
    assert sum(DropBuyer.objects.filter(drop=drop).values_list("units", flat=True)) == 60


def test_one_buyer_20_parallel_requests_against_limit_2_on_a_split_item(make_user, make_drop, shop):
    drop = _split_drop(make_drop, offered=100, shards=8, limit=2)
    buyer = make_user()
    clients = [client_for(buyer) for _ in range(20)]
    results = races._race(20, [races._reserve_job(c, drop.pk, shop["tee"].pk) for c in clients])
    outcomes = Counter(results)
    assert outcomes[(201, None)] == 2 and outcomes[(409, "limit_exceeded")] == 18
    assert counters(drop, shop["tee"]) == (100, 2, 0)
    assert DropBuyer.objects.get(drop=drop, buyer=buyer).units == 2


def test_a_reserve_falls_back_to_the_one_row_with_room(make_user, make_drop, shop):
    drop = _split_drop(make_drop, offered=8, shards=4, limit=8)
    shards = list(StockShard.objects.filter(item__drop=drop).order_by("index"))
    for shard in shards[:3]:  # three rows already full
        StockShard.objects.filter(pk=shard.pk).update(sold=shard.offered)
    buyers = [make_user() for _ in range(3)]
    taken = [
        reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=b.pk, quantity=1) for b in buyers[:2]
    ]
    assert {r.shard_id for r in taken} == {shards[3].pk}
    with pytest.raises(SoldOut):
        reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=buyers[2].pk, quantity=1)
    assert counters(drop, shop["tee"]) == (8, 2, 6)
    assert not DropBuyer.objects.filter(buyer=buyers[2], units__gt=0).exists()  # the refusal wrote nothing


def test_refusal_on_a_sold_out_split_item_writes_nothing(make_user, make_drop, shop):
    drop = _split_drop(make_drop, offered=2, shards=2, limit=2)
    sku = shop["tee"]
    reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=make_user().pk, quantity=1)
    reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=make_user().pk, quantity=1)
    soldout_memo.clear()  # make the refusal go to the database
    rows = OutboxEvent.objects.count(), DropBuyer.objects.count(), Reservation.objects.count()
    with pytest.raises(SoldOut) as refused:
        reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=make_user().pk, quantity=1)
    assert refused.value.details == {"available": 0, "requested": 1}
    assert (OutboxEvent.objects.count(), DropBuyer.objects.count(), Reservation.objects.count()) == rows


def test_pause_restock_expiry_and_payment_work_across_the_split(make_user, make_drop, shop):
    drop = _split_drop(make_drop, offered=4, shards=2, limit=4)
    sku = shop["tee"]
    buyer, other = make_user(), make_user()
    drops.pause_drop(drop_id=drop.pk)
    with pytest.raises(DropNotLive):
        reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=buyer.pk, quantity=1)
    assert counters(drop, sku) == (4, 0, 0)
    drops.resume_drop(drop_id=drop.pk)

    paid = reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=buyer.pk, quantity=2)
    lapsed = reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=other.pk, quantity=2)
    drop.refresh_from_db()
    assert drop.state == DropState.SOLD_OUT and counters(drop, sku) == (4, 4, 0)

    # Payment moves the units from reserved to sold on the reservation's own shard.
    order = place_order(buyer_id=buyer.pk, shipping_address=SHIP_TO, reservation_ids=[paid.pk])
    mark_order_paid(order_id=order.pk)
    assert StockShard.objects.get(pk=paid.shard_id).sold == 2
    (sold,) = _events("inventory.sold")
    assert (sold.payload["reserved"], sold.payload["sold"], sold.payload["available"]) == (2, 2, 0)

    # Expiry gives the other units back to their shard and re-opens the drop.
    Reservation.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert release_expired_reservations(drop_id=drop.pk) == 1
    assert StockShard.objects.get(pk=lapsed.shard_id).reserved == 0
    assert DropBuyer.objects.get(drop=drop, buyer=other).units == 0
    drop.refresh_from_db()
    assert drop.state == DropState.LIVE and counters(drop, sku) == (4, 0, 2)

    # Restock spreads the new units over the shards and says so with the item's counters.
    drops.restock_drop_item(drop_id=drop.pk, sku_id=sku.pk, added=5)
    assert counters(drop, sku) == (9, 0, 2)
    assert sum(offered for offered, _, _ in _shards(drop)) == 9
    (restocked,) = _events("inventory.restocked")
    assert (restocked.payload["offered"], restocked.payload["available"]) == (9, 7)
    (released,) = _events("inventory.released")
    assert released.payload["reason"] == "expired" and released.payload["available"] == 2


def test_splitting_a_live_item_keeps_its_reservations_on_the_item_row(make_user, make_drop, shop):
    drop = make_drop(offered=6, limit=3)
    sku = shop["tee"]
    before = reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=make_user().pk, quantity=2)
    item = DropItem.objects.get(drop=drop)
    split_item_stock(item_id=item.pk, shards=2)
    item.refresh_from_db()
    assert (item.offered, item.reserved) == (2, 2) and _shards(drop) == [(2, 0, 0), (2, 0, 0)]
    after = reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=make_user().pk, quantity=2)
    assert before.shard_id is None and after.shard_id is not None
    Reservation.objects.filter(pk=before.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert release_expired_reservations(drop_id=drop.pk) == 1
    item.refresh_from_db()
    assert (item.offered, item.reserved) == (2, 0) and counters(drop, sku) == (6, 2, 0)


def test_availability_and_drop_api_show_the_items_totals(make_user, make_drop, shop):
    drop = _split_drop(make_drop, offered=10, shards=4, limit=3)
    reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=make_user().pk, quantity=3)
    client = client_for(None)
    (item,) = client.get(f"/api/v1/drops/{drop.pk}/").json()["items"]
    assert (item["offered"], item["reserved"], item["sold"], item["available"]) == (10, 3, 0, 7)
    (row,) = client.get(f"/api/v1/drops/{drop.pk}/availability/").json()["items"]
    assert (row["offered"], row["reserved"], row["available"]) == (10, 3, 7)


@pytest.mark.usefixtures("split_everything")
def test_expiry_and_payment_race_on_a_split_item(make_user, make_drop, shop):
    races.test_expiry_and_payment_racing_on_one_reservation(make_user, make_drop, shop)
    assert StockShard.objects.count() == 4


@pytest.mark.usefixtures("split_everything")
def test_expiry_and_checkout_race_on_a_split_item(make_user, make_drop, shop):
    races.test_expiry_and_checkout_racing_on_one_reservation(make_user, make_drop, shop)
    assert Reservation.objects.filter(shard__isnull=True).count() == 0


def test_the_reserve_statement_locks_no_item_row_of_a_split_item(make_user, make_drop, shop):
    """A transaction holding the item's own row does not block reserves on its shards."""
    drop = _split_drop(make_drop, offered=8, shards=4, limit=2)
    item = DropItem.objects.get(drop=drop)
    buyer = make_user()
    with transaction.atomic(), ThreadPoolExecutor(1) as pool:
        # Somebody updating the item's row (a counter UPDATE takes this lock): reserves on the
        # shards still go through, as they never write the item's row.
        DropItem.objects.select_for_update(no_key=True).get(pk=item.pk)
        other = pool.submit(_reserve_in_thread, drop.pk, shop["tee"].pk, buyer.pk)
        outcome = other.result(timeout=90)
    assert outcome == "reserved"
    assert counters(drop, shop["tee"]) == (8, 1, 0)


def _reserve_in_thread(drop_id: int, sku_id: int, buyer_id: int) -> str:
    try:
        with connection.cursor() as cur:
            cur.execute("SET lock_timeout = '20s'")  # fail, not hang, if the item row were needed
        reserve_stock(drop_id=drop_id, sku_id=sku_id, buyer_id=buyer_id, quantity=1)
        return "reserved"
    finally:
        connection.close()


def test_every_shard_held_by_others_answers_stock_busy_and_writes_nothing(
    make_user, make_drop, shop, monkeypatch
):
    """Writers holding every shard with room: the reserve never waits for one (no deadlock), it
    retries with fresh snapshots, then answers the retriable stock_busy; once they commit it wins."""
    from commerce.errors import StockBusy
    from commerce.services import reservations

    monkeypatch.setattr(reservations, "BUSY_ROUNDS", 5)
    drop = _split_drop(make_drop, offered=4, shards=2, limit=2)
    buyer = make_user()
    holding, release = threading.Event(), threading.Event()

    def hold_every_shard() -> None:
        try:
            with transaction.atomic():
                list(StockShard.objects.select_for_update().filter(item__drop=drop))
                holding.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_every_shard)
    holder.start()
    try:
        assert holding.wait(timeout=60)
        with pytest.raises(StockBusy) as busy:
            reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=buyer.pk, quantity=1)
        assert busy.value.retriable and busy.value.http_status == 503
        assert not DropBuyer.objects.filter(drop=drop, buyer=buyer, units__gt=0).exists()  # nothing held
        assert not Reservation.objects.exists() and not _events("inventory.reserved")
    finally:
        release.set()
        holder.join(timeout=60)
    reserved = reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=buyer.pk, quantity=1)
    assert reserved.shard_id is not None and counters(drop, shop["tee"]) == (4, 1, 0)
