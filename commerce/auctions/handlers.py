"""Kafka handlers of auctions: a paid offer's order makes the auction `paid` (saga group)."""

from commerce.auctions.services.closing import record_payment
from realtime.events import Event
from realtime.registry import handles


@handles("saga", "order.paid")
def on_order_paid(event: Event) -> None:
    record_payment(order_id=int(event.payload["order_id"]))
