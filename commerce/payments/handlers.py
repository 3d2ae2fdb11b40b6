"""Consumer group `saga`: the checkout saga. Each handler decodes and calls one service.

The consumer has validated each payload against its schema, so required properties are there
with their schema types; decoding is naming them and filling in the optional ones.
"""

from typing import Any

from commerce.payments.services import minting, reorgs, saga
from realtime.events import Event
from realtime.registry import handles

GROUP = "saga"


def _payment(payload: dict[str, Any]) -> dict[str, Any]:
    """The properties every `payment.*` event carries, as the saga's keyword arguments."""
    return {
        "order_id": payload["order_id"],
        "payment_intent_id": payload["payment_intent_id"],
        "stripe_event_id": payload.get("stripe_event_id", ""),
    }


@handles(GROUP, "payment.succeeded")
def on_payment_succeeded(event: Event) -> None:
    p = event.payload
    saga.apply_payment_succeeded(
        event_id=event.id,
        **_payment(p),
        amount=p["amount"],
        currency=p["currency"],
        card_fingerprint=p.get("card_fingerprint", ""),
    )


@handles(GROUP, "payment.failed")
def on_payment_failed(event: Event) -> None:
    p = event.payload
    saga.apply_payment_failed(
        event_id=event.id,
        **_payment(p),
        failure_code=p.get("failure_code"),
        failure_message=p.get("failure_message"),
    )


@handles(GROUP, "payment.canceled")
def on_payment_canceled(event: Event) -> None:
    saga.apply_payment_canceled(event_id=event.id, **_payment(event.payload))


@handles(GROUP, "payment.refunded")
def on_payment_refunded(event: Event) -> None:
    p = event.payload
    saga.apply_payment_refunded(
        event_id=event.id,
        **_payment(p),
        refund_id=p["refund_id"],
        amount=p["amount"],
        currency=p["currency"],
        line_id=p.get("line_id"),
        reason=p.get("reason", ""),
        refund_key=p.get("refund_key", ""),
        amount_refunded_total=p.get("amount_refunded_total"),
    )


@handles(GROUP, "nft.mint.confirmed")
def on_mint_confirmed(event: Event) -> None:
    p = event.payload
    minting.apply_mint_confirmed(
        event_id=event.id,
        order_id=p["order_id"],
        line_id=p["line_id"],
        tx_hash=p["tx_hash"],
        block_number=p["block_number"],
    )


@handles(GROUP, "nft.mint.failed")
def on_mint_failed(event: Event) -> None:
    p = event.payload
    minting.apply_mint_failed(
        event_id=event.id,
        order_id=p["order_id"],
        line_id=p["line_id"],
        reason=p["reason"],
        tx_hash=p.get("tx_hash"),
    )


@handles(GROUP, "chain.reorg.detected")
def on_reorg_detected(event: Event) -> None:
    p = event.payload
    reorgs.apply_reorg_detected(
        event_id=event.id,
        affected_tx_hashes=p["affected_tx_hashes"],
        fork_block_number=p["fork_block_number"],
        depth=p["depth"],
    )
