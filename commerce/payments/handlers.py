"""Consumer group `saga`: the checkout saga. Each handler decodes and calls one service."""

from commerce.payments.services import minting, reorgs, saga
from realtime.events import Event
from realtime.registry import handles

GROUP = "saga"


@handles(GROUP, "payment.succeeded")
def on_payment_succeeded(event: Event) -> None:
    saga.apply_payment_succeeded(event_id=event.id, payload=event.payload)


@handles(GROUP, "payment.failed")
def on_payment_failed(event: Event) -> None:
    saga.apply_payment_failed(event_id=event.id, payload=event.payload)


@handles(GROUP, "payment.canceled")
def on_payment_canceled(event: Event) -> None:
    saga.apply_payment_canceled(event_id=event.id, payload=event.payload)


@handles(GROUP, "payment.refunded")
def on_payment_refunded(event: Event) -> None:
    saga.apply_payment_refunded(event_id=event.id, payload=event.payload)


@handles(GROUP, "nft.mint.confirmed")
def on_mint_confirmed(event: Event) -> None:
    minting.apply_mint_confirmed(event_id=event.id, payload=event.payload)


@handles(GROUP, "nft.mint.failed")
def on_mint_failed(event: Event) -> None:
    minting.apply_mint_failed(event_id=event.id, payload=event.payload)


@handles(GROUP, "chain.reorg.detected")
def on_reorg_detected(event: Event) -> None:
    reorgs.apply_reorg_detected(event_id=event.id, payload=event.payload)
