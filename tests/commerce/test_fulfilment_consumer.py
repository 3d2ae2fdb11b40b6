"""The `fulfilment` consumer group against the real Kafka: duplicate deliveries, redemptions."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from commerce.addresses import parse_shipping_address
from commerce.models import Order, Shipment, ShipmentStatus
from commerce.services import shipments
from commerce.services.fulfilment import start_fulfilment
from commerce.services.orders import mark_order_paid, place_order
from commerce.services.reservations import reserve_stock
from realtime.models import ConsumerOffset, InboxEntry, OutboxEvent
from realtime.outbox import emit
from realtime.relay import Relay
from tests.realtime.conftest import kafka_prefix, wait_for  # noqa: F401 (fixture)
from tests.realtime.helpers import ConsumerThread, relay_progress, rewind_relay

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("kafka_prefix"),
]

ADDRESS = {
    "name": "Grace Hopper",
    "line1": "1 Navy Way",
    "city": "Arlington",
    "postal_code": "22202",
    "country": "US",
}


def relay_all() -> int:
    relay = Relay(batch_size=500)
    assert relay.try_become_leader()
    published = relay.drain()
    relay.close()
    return published


def _consume_until_idle() -> Any:
    with ConsumerThread("fulfilment") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="fulfilment consumer to catch up")
        return consumer.stop()


def test_shipment_requested_delivered_twice_makes_one_shipment(
    make_drop: Any,
    shop: dict[str, Any],
    make_user: Any,
) -> None:
    buyer: User = make_user()
    drop = make_drop(skus=[shop["tee"], shop["sneaker"], shop["wearable"]], limit=5)
    for name in ("tee", "sneaker", "wearable"):
        reserve_stock(drop_id=drop.pk, sku_id=shop[name].pk, buyer_id=buyer.pk, quantity=1)
    order = place_order(buyer_id=buyer.pk, shipping_address=parse_shipping_address(ADDRESS))
    mark_order_paid(order_id=order.pk, payment_intent_id="pi_dup")
    start_fulfilment(order_id=order.pk)
    requested = OutboxEvent.objects.filter(type="shipment.requested")
    assert requested.count() == 2  # the tee and the sneaker ship; the wearable does not
    before = relay_progress()
    relay_all()
    rewind_relay(before)  # as after a relay crash before saving its progress: published again
    relay_all()

    stats = _consume_until_idle()
    assert stats.duplicates >= 2  # the second copy of each shipment.requested was recognised
    shipment = Shipment.objects.get(order=order)
    assert sorted(row["kind"] for row in shipment.pick_list) == ["phygital", "physical"]
    assert shipment.shipping_address["country"] == "US"
    assert OutboxEvent.objects.filter(type="shipment.created").count() == 1
    # fulfilment's effects are rows only: its offsets are stored with them, no inbox row needed.
    assert not InboxEntry.objects.filter(group="fulfilment").exists()
    assert ConsumerOffset.objects.filter(group="fulfilment", next_offset__gt=0).exists()


def test_nft_redeemed_creates_one_redemption_shipment_in_the_queue(
    shop: dict[str, Any],
    make_user: Any,
) -> None:
    owner: User = make_user()
    payload = {
        "redemption_id": 12,
        "chain_id": 31337,
        "contract": shop["collection"].contract_address,
        "token_id": "7",
        "owner_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "owner_user_id": owner.pk,
        "merchant_id": shop["merchant"].pk,
        "product_id": shop["sneaker"].product_id,
        "sku_id": shop["sneaker"].pk,
        "shipping_address": {**ADDRESS, "country": "GB", "postal_code": "SW1Y 4JH", "city": "London"},
        "tx_hash": "0x" + "ab" * 32,
    }
    with transaction.atomic():
        emit(type="nft.redeemed", key="redemption-12", payload=payload)
    before = relay_progress()
    relay_all()
    rewind_relay(before)
    relay_all()  # the same event twice on the topic

    stats = _consume_until_idle()
    assert stats.processed == 1 and stats.duplicates == 1
    shipment = Shipment.objects.get(redemption_id=12)
    assert (shipment.order_id, shipment.buyer_id, shipment.merchant_id) == (
        None,
        owner.pk,
        shop["merchant"].pk,
    )
    assert (
        shipment.pick_list[0]["title"] == "Sneaker + certificate" and shipment.pick_list[0]["token_id"] == "7"
    )
    assert shipment.shipping_address["city"] == "London"
    queue = shipments_queue(shop["merchant"].pk)
    assert queue == [shipment.pk]
    created = OutboxEvent.objects.get(type="shipment.created")
    assert created.aggregateid == "redemption-12"
    assert created.payload == {
        "shipment_id": shipment.pk, "merchant_id": shop["merchant"].pk, "buyer_id": owner.pk,
        "order_id": None, "redemption_id": 12, "line_ids": [],
    }  # fmt: skip

    shipments.mark_shipped(
        shipment_id=shipment.pk,
        merchant_id=shop["merchant"].pk,
        carrier="royal_mail",
        tracking_number="RM1234GB",
    )
    shipped = OutboxEvent.objects.get(type="shipment.shipped")
    assert shipped.aggregateid == "redemption-12" and shipped.payload["order_id"] is None
    assert shipped.payload["tracking_url"].endswith("RM1234GB")
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.SHIPPED
    assert not Order.objects.exists()


def shipments_queue(merchant_id: int) -> list[int]:
    from commerce import selectors

    return list(
        selectors.merchant_shipments(merchant_id=merchant_id, status="pending").values_list("pk", flat=True)
    )
