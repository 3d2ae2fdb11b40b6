"""Concurrency on real PostgreSQL: threads with their own connections race through the HTTP API."""

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from django.db import connection
from django.utils import timezone

from commerce.errors import ReservationExpired
from commerce.models import DropBuyer, DropItem, Order, OrderStatus, Reservation, ReservationStatus
from commerce.services.orders import mark_order_paid, place_order
from commerce.services.reservations import expire_reservation, reserve_stock
from realtime.models import OutboxEvent
from tests.commerce.conftest import SHIP_TO, client_for, counters

pytestmark = pytest.mark.django_db(transaction=True)


def _race(n_threads: int, jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run jobs on n_threads threads released together by a barrier; each closes its connection."""
    barrier = threading.Barrier(n_threads)
    per_thread = [jobs[i::n_threads] for i in range(n_threads)]

    def worker(mine: list[Callable[[], Any]]) -> list[Any]:
        try:
            barrier.wait(timeout=60)
            return [job() for job in mine]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        return [r for rs in pool.map(worker, per_thread) for r in rs]


def _reserve_job(client: Any, drop_id: int, sku_id: int, quantity: int = 1) -> Callable[[], Any]:
    def job() -> tuple[int, str | None]:
        response = client.post(
            "/api/v1/reservations/",
            {"drop_id": drop_id, "sku_id": sku_id, "quantity": quantity},
            format="json",
        )
        body = response.json()
        return response.status_code, body.get("error", {}).get("code")

    return job


def test_200_buyers_race_for_the_last_50_units(make_user, make_drop, shop):
    drop = make_drop(offered=60, limit=5)
    sku = shop["tee"]
    # 10 of 60 already sold: 50 units are left.
    DropItem.objects.filter(drop=drop, sku=sku).update(sold=10)
    clients = [client_for(make_user()) for _ in range(200)]

    results = _race(50, [_reserve_job(c, drop.pk, sku.pk) for c in clients])

    outcomes = Counter(results)
    assert outcomes[(201, None)] == 50
    assert outcomes[(409, "sold_out")] == 150
    assert len(results) == 200
    offered, reserved, sold = counters(drop, sku)
    assert (offered, reserved, sold) == (60, 50, 10)
    assert offered - reserved - sold == 0  # never negative
    assert Reservation.objects.filter(drop=drop, status=ReservationStatus.ACTIVE).count() == 50
    assert OutboxEvent.objects.filter(type="inventory.reserved").count() == 50
    assert OutboxEvent.objects.filter(type="inventory.sold_out").count() == 1
    drop.refresh_from_db()
    assert drop.state == "sold_out"
    assert sum(DropBuyer.objects.filter(drop=drop).values_list("units", flat=True)) == 50


def test_one_buyer_20_parallel_requests_against_limit_2(make_user, make_drop, shop):
    drop = make_drop(offered=100, limit=2)
    buyer = make_user()
    clients = [client_for(buyer) for _ in range(20)]

    results = _race(20, [_reserve_job(c, drop.pk, shop["tee"].pk) for c in clients])

    outcomes = Counter(results)
    assert outcomes[(201, None)] == 2
    assert outcomes[(409, "limit_exceeded")] == 18
    assert counters(drop, shop["tee"]) == (100, 2, 0)
    assert DropBuyer.objects.get(drop=drop, buyer=buyer).units == 2
    assert Reservation.objects.filter(buyer=buyer).count() == 2


def test_limit_counts_across_requests_and_quantities(make_user, make_drop, shop):
    drop = make_drop(offered=100, limit=3, skus=[shop["tee"], shop["sneaker"]])
    buyer = make_user()
    reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=buyer.pk, quantity=2)
    response = client_for(buyer).post(
        "/api/v1/reservations/",
        {"drop_id": drop.pk, "sku_id": shop["sneaker"].pk, "quantity": 2},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "limit_exceeded"
    assert counters(drop, shop["sneaker"]) == (100, 0, 0)


def _expired_reservation(make_user, drop, sku) -> Reservation:
    buyer = make_user()
    reservation = reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=buyer.pk, quantity=1)
    Reservation.objects.filter(pk=reservation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    reservation.refresh_from_db()
    return reservation


def test_expiry_and_checkout_racing_on_one_reservation(make_user, make_drop, shop):
    """Checkout of a just-expired reservation vs the expiry sweep: exactly one wins, every time."""
    drop = make_drop(offered=50, limit=1)
    sku = shop["tee"]
    rounds = 15
    for _ in range(rounds):
        reservation = _expired_reservation(make_user, drop, sku)
        # Give checkout a chance to win: it only refuses reservations seen as expired.
        Reservation.objects.filter(pk=reservation.pk).update(
            expires_at=timezone.now() + timedelta(milliseconds=30)
        )

        def checkout(r: Reservation = reservation) -> str:
            try:
                place_order(buyer_id=r.buyer_id, shipping_address=SHIP_TO, reservation_ids=[r.pk])
                return "ordered"
            except ReservationExpired:
                return "refused"

        def expire(r: Reservation = reservation) -> str:
            import time

            time.sleep(0.03)
            return "expired" if expire_reservation(reservation_id=r.pk) else "skipped"

        results = set(_race(2, [checkout, expire]))
        reservation.refresh_from_db()
        if "ordered" in results:
            assert results == {"ordered", "skipped"}
            assert reservation.status == ReservationStatus.ACTIVE and reservation.order_id is not None
        else:
            assert results == {"refused", "expired"} or results == {"refused", "skipped"}
    active = sum(
        Reservation.objects.filter(item__drop=drop, status="active").values_list("quantity", flat=True)
    )
    offered, reserved, sold = counters(drop, sku)
    assert reserved == active and sold == 0 and offered - reserved - sold >= 0
    assert (
        OutboxEvent.objects.filter(type="inventory.released").count()
        == Reservation.objects.filter(status="released").count()
    )


def test_expiry_and_payment_racing_on_one_reservation(make_user, make_drop, shop):
    """Payment vs expiry of the same reservation: the unit is sold exactly once, counters stay consistent."""
    drop = make_drop(offered=30, limit=1)
    sku = shop["tee"]
    for _ in range(10):
        buyer = make_user()
        reservation = reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=buyer.pk, quantity=1)
        order = place_order(buyer_id=buyer.pk, shipping_address=SHIP_TO)
        Reservation.objects.filter(pk=reservation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

        def pay(order_id: int = order.pk) -> object:
            return mark_order_paid(order_id=order_id).unavailable_lines

        def expire(reservation_id: UUID = reservation.pk) -> object:
            return expire_reservation(reservation_id=reservation_id)

        outcomes = _race(2, [pay, expire])
        reservation.refresh_from_db()
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
        assert reservation.status == ReservationStatus.SOLD
        assert outcomes[0] == []  # stock was free, so even if expiry won first the unit was re-taken
    assert counters(drop, sku) == (30, 0, 10)
    assert Order.objects.filter(status="paid").count() == 10
    assert OutboxEvent.objects.filter(type="inventory.sold").count() == 10
