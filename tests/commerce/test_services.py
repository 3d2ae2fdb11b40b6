"""Services: state machines, events in the same transaction (also on rollback), lifecycle edge cases."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from commerce.addresses import parse_shipping_address
from commerce.errors import DropNotLive, EditionExceeded, InvalidTransition, ReservationExpired, SoldOut
from commerce.models import DropItem, LineStatus, Order, OrderStatus, Reservation
from commerce.services import drops, shipments
from commerce.services.cancellations import cancel_order, mark_line_refunded, refund_order
from commerce.services.fulfilment import mark_line_minted, start_fulfilment
from commerce.services.orders import mark_order_paid, place_order
from commerce.services.reservations import cancel_reservation, release_expired_reservations, reserve_stock
from realtime.contracts import validate_payload
from realtime.models import OutboxEvent
from tests.commerce.conftest import SHIP_TO, counters

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def events(type_: str | None = None) -> list[dict]:
    qs = OutboxEvent.objects.order_by("sequence")
    if type_:
        qs = qs.filter(type=type_)
    return [e.payload for e in qs]


def test_reserve_writes_event_with_counters_and_rolls_back_with_caller(make_user, make_drop, shop):
    drop = make_drop(offered=3, limit=3)
    buyer = make_user()
    before = OutboxEvent.objects.count()
    with pytest.raises(Boom), transaction.atomic():
        reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=buyer.pk, quantity=3)
        assert OutboxEvent.objects.filter(type="inventory.reserved").count() == 1
        raise Boom
    assert OutboxEvent.objects.count() == before
    assert counters(drop, shop["tee"]) == (3, 0, 0) and Reservation.objects.count() == 0
    reservation = reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=buyer.pk, quantity=3)
    [reserved] = events("inventory.reserved")
    assert reserved["reservation_id"] == str(reservation.pk)
    assert (reserved["reserved"], reserved["available"]) == (3, 0)
    assert events("inventory.sold_out")[0]["available"] == 0
    assert [e["to_state"] for e in events("drop.state_changed")] == ["live", "sold_out"]


def test_reserved_event_as_stored_passes_its_schema(make_user, make_drop, shop):
    """The counters are filled in by the database, after the placeholders were validated."""
    drop = make_drop(offered=5, limit=3)
    reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=make_user().pk, quantity=2)
    row = OutboxEvent.objects.get(type="inventory.reserved")
    validate_payload(row.type, row.version, row.payload)
    assert (row.payload["offered"], row.payload["reserved"], row.payload["sold"]) == (5, 2, 0)
    assert row.payload["available"] == 3 and row.aggregateid == str(drop.pk)


def test_reservation_returned_by_reserve_is_the_stored_row(make_user, make_drop, shop):
    drop, buyer = make_drop(offered=5, limit=3), make_user()
    reservation = reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=buyer.pk, quantity=2)
    stored = Reservation.objects.get()
    fields = ("pk", "drop_id", "item_id", "buyer_id", "quantity", "status", "expires_at", "order_id")
    assert [getattr(reservation, f) for f in fields] == [getattr(stored, f) for f in fields]
    reservation.save()  # loaded, not new: an UPDATE of that row (a new one would INSERT and clash)
    assert Reservation.objects.count() == 1


@pytest.mark.parametrize(
    "step", ["cancel_reservation", "place_order", "mark_paid", "cancel_order", "drop_action"]
)
def test_every_state_change_and_its_event_roll_back_together(step, make_user, make_drop, shop):
    drop = make_drop(offered=5, limit=5)
    buyer = make_user()
    reservation = reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=buyer.pk, quantity=2)
    order_id = (
        place_order(buyer_id=buyer.pk, shipping_address=SHIP_TO).pk
        if step in ("mark_paid", "cancel_order")
        else 0
    )
    calls = {
        "cancel_reservation": lambda: cancel_reservation(reservation_id=reservation.pk, buyer_id=buyer.pk),
        "place_order": lambda: place_order(buyer_id=buyer.pk, shipping_address=SHIP_TO),
        "mark_paid": lambda: mark_order_paid(order_id=order_id),
        "cancel_order": lambda: cancel_order(order_id=order_id),
        "drop_action": lambda: drops.pause_drop(drop_id=drop.pk),
    }
    state = lambda: (  # noqa: E731
        counters(drop, shop["tee"]),
        list(Reservation.objects.values_list("status", "order_id")),
        list(Order.objects.values_list("status")),
        drop.__class__.objects.get(pk=drop.pk).state,
        OutboxEvent.objects.count(),
    )
    before = state()
    with pytest.raises(Boom), transaction.atomic():
        calls[step]()
        assert OutboxEvent.objects.count() > before[-1]  # the event was written...
        raise Boom
    assert state() == before  # ...and left with the change


def test_order_lifecycle_events_and_illegal_transitions(make_user, make_drop, shop):
    drop = make_drop(offered=5, limit=5, skus=[shop["tee"], shop["sneaker"]])
    buyer = make_user()
    reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=buyer.pk, quantity=2)
    reserve_stock(drop_id=drop.pk, sku_id=shop["sneaker"].pk, buyer_id=buyer.pk, quantity=2)
    address = parse_shipping_address(
        {"name": "A B", "line1": "1 Road", "city": "Paris", "postal_code": "75001", "country": "FR"}
    )
    order = place_order(buyer_id=buyer.pk, shipping_address=address)
    lines = list(order.lines.order_by("id"))
    assert [(line.kind, line.quantity) for line in lines] == [
        ("physical", 2),
        ("phygital", 1),
        ("phygital", 1),
    ]
    assert lines[1].nft_contract_address == shop["collection"].contract_address
    with pytest.raises(InvalidTransition):
        start_fulfilment(order_id=order.pk)
    outcome = mark_order_paid(order_id=order.pk, payment_intent_id="pi_1")
    assert outcome.unavailable_lines == [] and outcome.order.status == "paid"
    assert mark_order_paid(order_id=order.pk).already_paid  # a duplicate webhook: no second effect
    assert counters(drop, shop["tee"]) == (5, 0, 2) and counters(drop, shop["sneaker"]) == (5, 0, 2)
    token_ids = sorted(int(t) for t in order.lines.exclude(token_id="").values_list("token_id", flat=True))
    assert token_ids == [1, 2]
    with pytest.raises(InvalidTransition):
        cancel_order(order_id=order.pk)
    start_fulfilment(order_id=order.pk)
    assert len(events("shipment.requested")) == 3  # physical + the physical half of each phygital
    shipment = shipments.create_order_shipment(order_id=order.pk)
    assert shipment is not None
    shipments.mark_shipped(
        shipment_id=shipment.pk, merchant_id=order.merchant_id, carrier="dpd", tracking_number="01234"
    )  # the tee and both sneakers leave; the first sneaker's certificate is minted
    mark_line_minted(line_id=lines[1].pk)
    assert Order.objects.get(pk=order.pk).status == "fulfilling"
    mark_line_refunded(line_id=lines[2].pk, reason="mint failed for good")
    final = Order.objects.get(pk=order.pk)
    assert final.status == OrderStatus.FULFILLED
    assert final.refunded_amount == 9900
    assert [e["status"] for e in events() if "status" in e and e.get("order_id") == order.pk] == [
        "pending_payment",
        "paid",
        "fulfilling",
        "partially_refunded",
        "fulfilled",
    ]
    with pytest.raises(InvalidTransition):
        mark_order_paid(
            order_id=Order.objects.create(
                buyer=buyer, merchant=shop["merchant"], total=1, currency="usd", status="cancelled"
            ).pk
        )


def test_paid_after_expiry_retakes_free_stock_or_reports_lost_lines(make_user, make_drop, shop):
    drop = make_drop(offered=1, limit=1)
    first, second = make_user(), make_user()
    reservation = reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=first.pk, quantity=1)
    order = place_order(buyer_id=first.pk, shipping_address=SHIP_TO)
    Reservation.objects.filter(pk=reservation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert release_expired_reservations() == 1
    assert counters(drop, shop["tee"]) == (1, 0, 0)
    reserve_stock(
        drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=second.pk, quantity=1
    )  # someone else took it
    outcome = mark_order_paid(order_id=order.pk)
    assert [line.status for line in outcome.unavailable_lines] == [LineStatus.UNAVAILABLE]
    assert counters(drop, shop["tee"]) == (1, 1, 0)  # never oversold
    refund_order(order_id=order.pk, reason="stock lost while paying")
    assert Order.objects.get(pk=order.pk).status == "refunded"


def test_checkout_refuses_expired_reservation(make_user, make_drop, shop):
    drop = make_drop()
    buyer = make_user()
    reservation = reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=buyer.pk, quantity=1)
    Reservation.objects.filter(pk=reservation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ReservationExpired):
        place_order(buyer_id=buyer.pk, shipping_address=SHIP_TO, reservation_ids=[reservation.pk])
    assert counters(drop, shop["tee"]) == (10, 0, 0)  # released lazily on the way
    assert events("inventory.released")[0]["reason"] == "expired"


def test_sold_out_lazily_releases_expired_reservations(make_user, make_drop, shop):
    drop = make_drop(offered=1, limit=1)
    first, second = make_user(), make_user()
    old = reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=first.pk, quantity=1)
    with pytest.raises(SoldOut):
        reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=second.pk, quantity=1)
    Reservation.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=second.pk, quantity=1)
    assert Reservation.objects.get(pk=old.pk).status == "released"
    assert counters(drop, shop["tee"]) == (1, 1, 0)


def test_drop_state_machine_by_time_and_actions(make_drop, make_user, shop):
    now = timezone.now()
    drop = make_drop(live=False, starts_at=now + timedelta(minutes=5), ends_at=now + timedelta(minutes=10))
    with pytest.raises(DropNotLive):
        reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=make_user().pk, quantity=1)
    assert drops.advance_drops_by_time(now=now + timedelta(minutes=6)) == 1
    drop.refresh_from_db()
    assert drop.state == "live"
    drops.pause_drop(drop_id=drop.pk)
    with pytest.raises(InvalidTransition):
        drops.pause_drop(drop_id=drop.pk)
    drops.resume_drop(drop_id=drop.pk)
    assert drops.advance_drops_by_time(now=now + timedelta(minutes=11)) == 1
    drop.refresh_from_db()
    assert drop.state == "ended"
    with pytest.raises(InvalidTransition):
        drops.start_drop(drop_id=drop.pk)
    assert [(e["from_state"], e["to_state"]) for e in events("drop.state_changed")] == [
        ("scheduled", "live"),
        ("live", "paused"),
        ("paused", "live"),
        ("live", "ended"),
    ]


def test_restock_reopens_sold_out_drop_and_respects_edition(make_drop, make_user, shop):
    drop = make_drop(offered=995, limit=1000, skus=[shop["wearable"]])
    reserve_stock(drop_id=drop.pk, sku_id=shop["wearable"].pk, buyer_id=make_user().pk, quantity=995)
    drop.refresh_from_db()
    assert drop.state == "sold_out"
    with pytest.raises(EditionExceeded):
        drops.restock_drop_item(drop_id=drop.pk, sku_id=shop["wearable"].pk, added=6)
    drops.restock_drop_item(drop_id=drop.pk, sku_id=shop["wearable"].pk, added=5)
    drop.refresh_from_db()
    assert drop.state == "live"
    assert events("inventory.restocked")[0]["available"] == 5
    assert DropItem.objects.get(drop=drop).offered == 1000
