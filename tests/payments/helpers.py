"""Helpers for payments tests: deliver signed webhooks through the real endpoint, read the outbox."""

import json
from typing import Any

from django.test import Client

from commerce.payments.simulator import sign_event
from realtime.contracts import validate_payload
from realtime.events import Event
from realtime.models import OutboxEvent
from realtime.registry import handlers_for
from tests.events import make_event

WEBHOOK_URL = "/webhooks/stripe/"


def post_webhook(
    event: dict[str, Any] | bytes,
    *,
    client: Client | None = None,
    secret: str | None = None,
    timestamp: int | None = None,
    signature: str | None = "sign",
) -> tuple[int, dict[str, Any]]:
    """POST an event to /webhooks/stripe/ signed like Stripe (or with `signature` given verbatim / None)."""
    client = client or Client()
    if isinstance(event, bytes):
        from django.conf import settings

        from commerce.payments.signing import stripe_signature

        body = event
        header = stripe_signature(body, secret=secret or settings.STRIPE_WEBHOOK_SECRET, timestamp=timestamp)
    else:
        signed = sign_event(event, secret=secret, timestamp=timestamp)
        body, header = signed.body, signed.signature
    headers = {} if signature is None else {"Stripe-Signature": header if signature == "sign" else signature}
    response = client.post(WEBHOOK_URL, data=body, content_type="application/json", headers=headers)
    return response.status_code, json.loads(response.content or b"{}")


def outbox(event_type: str, *, key: int | str | None = None) -> list[OutboxEvent]:
    rows = OutboxEvent.objects.filter(type=event_type)
    if key is not None:
        rows = rows.filter(aggregateid=str(key))
    return list(rows.order_by("sequence"))


def run_saga_handler(event: Event) -> None:
    """Run `event` through the saga group's handler, as the saga consumer does once validated.

    This tests the handler's decoding too; the consumer's inbox is bypassed.
    """
    from commerce.payments import handlers

    (handler,) = handlers_for(handlers.GROUP, event.type)
    handler(event)


def deliver(event_type: str, **payload: Any) -> Event:
    """Build `event_type` with the test factory (tests/events.py) and run the saga's handler on it."""
    event = make_event(event_type, **payload)
    run_saga_handler(event)
    return event


def deliver_row(row: OutboxEvent) -> None:
    """Run the saga's handler on an event the code under test wrote to the outbox."""
    validate_payload(row.type, row.version, row.payload)
    run_saga_handler(Event(id=row.id, type=row.type, key=row.aggregateid, payload=row.payload))


# What nft.mint.confirmed / nft.mint.failed repeat from the nft.mint.requested they answer.
_MINT_FIELDS = ("order_id", "line_id", "chain_id", "contract_address", "token_id", "to_address")


def mint_outcome(event_type: str, request: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The payload of the answer `event_type` to the nft.mint.requested payload `request`."""
    return make_event(event_type, **({k: request[k] for k in _MINT_FIELDS} | extra)).payload


def deliver_paid(order: Any, **extra: Any) -> Event:
    """payment.succeeded for the whole of `order` (its PaymentIntent, total, usd) through the saga."""
    fields = {"order_id": order.pk, "payment_intent_id": order.payment_intent_id, "amount": order.total}
    return deliver("payment.succeeded", **(fields | {"currency": "usd"} | extra))
