"""Kafka handlers of the `notify` consumer group (`manage.py consume notify`).

Each decodes nothing more than the envelope already validated by the runner and calls one service
in notifications.services.events. They run inside the consumer's transaction with its inbox row;
the rows they write (in-app entry, e-mail) have their own unique keys too, so the same event
delivered N times, even past the inbox (a replay with a fresh inbox), yields one message per
recipient.
"""

from notifications.services import events as notify_events
from realtime.events import Event
from realtime.registry import handles

GROUP = "notify"


@handles(GROUP, "order.paid")
def on_order_paid(event: Event) -> None:
    notify_events.order_paid(event)


@handles(GROUP, "payment.failed")
def on_payment_failed(event: Event) -> None:
    notify_events.payment_failed(event)


@handles(GROUP, "payment.refunded")
def on_payment_refunded(event: Event) -> None:
    notify_events.payment_refunded(event)


@handles(GROUP, "nft.mint.confirmed")
def on_mint_confirmed(event: Event) -> None:
    notify_events.mint_confirmed(event)


@handles(GROUP, "nft.claim.completed")
def on_claim_completed(event: Event) -> None:
    notify_events.claim_completed(event)


@handles(GROUP, "shipment.shipped")
def on_shipment_shipped(event: Event) -> None:
    notify_events.shipment_shipped(event)


@handles(GROUP, "shipment.delivered")
def on_shipment_delivered(event: Event) -> None:
    notify_events.shipment_delivered(event)


@handles(GROUP, "shipment.created")
def on_shipment_created(event: Event) -> None:
    notify_events.shipment_created(event)


@handles(GROUP, "inventory.sold_out")
def on_sold_out(event: Event) -> None:
    notify_events.sold_out(event)


@handles(GROUP, "show.state_changed")
def on_show_state_changed(event: Event) -> None:
    notify_events.show_state_changed(event)


@handles(GROUP, "wallet.activity_recorded")
def on_wallet_activity(event: Event) -> None:
    notify_events.wallet_activity(event)
