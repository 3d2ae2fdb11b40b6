"""Webhook simulator: Stripe-shaped events for an order, signed like Stripe signs them, and sent.

stripe-mock answers API calls but never sends webhooks, so dev, the demo checkout and the tests
build the events Stripe would send (`payment_intent.succeeded`, `...payment_failed`,
`...canceled`, `charge.refunded`), sign them with STRIPE_WEBHOOK_SECRET and POST them to
`/webhooks/stripe/` (over HTTP, or in-process through the same verifying service).
"""

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from commerce.models import Order
from commerce.payments.models import PaymentAttempt
from commerce.payments.signing import stripe_signature

API_VERSION = "2024-06-20"
INTENT_STATUS = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "requires_payment_method",
    "payment_intent.canceled": "canceled",
    "payment_intent.processing": "processing",
}
SUPPORTED = (*INTENT_STATUS, "charge.refunded")


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def build_event(
    event_type: str,
    *,
    order_id: int,
    payment_intent_id: str,
    amount: int,
    currency: str,
    event_id: str | None = None,
    created: int | None = None,
    refund_amount: int | None = None,
    refund_id: str | None = None,
    refund_metadata: dict[str, str] | None = None,
    failure_code: str = "card_declined",
    failure_message: str = "Your card was declined.",
) -> dict[str, Any]:
    """A Stripe event document of `event_type` about the order's PaymentIntent."""
    if event_type not in SUPPORTED:
        raise ValueError(f"unsupported event type {event_type!r}; one of {', '.join(SUPPORTED)}")
    metadata = {"order_id": str(order_id)}
    obj: dict[str, Any]
    if event_type == "charge.refunded":
        refunded = refund_amount if refund_amount is not None else amount
        obj = {
            "id": _id("ch"),
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": refunded,
            "currency": currency,
            "metadata": metadata,
            "paid": True,
            "payment_intent": payment_intent_id,
            "refunded": refunded >= amount,
            "status": "succeeded",
            "refunds": {
                "object": "list",
                "data": [
                    {
                        "id": refund_id or _id("re"),
                        "object": "refund",
                        "amount": refunded,
                        "currency": currency,
                        "metadata": refund_metadata or {},
                        "payment_intent": payment_intent_id,
                        "status": "succeeded",
                    }
                ],
            },
        }
    else:
        status = INTENT_STATUS[event_type]
        obj = {
            "id": payment_intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": amount if status == "succeeded" else 0,
            "currency": currency,
            "metadata": metadata,
            "status": status,
            "latest_charge": _id("ch") if status == "succeeded" else None,
            "last_payment_error": (
                {"code": failure_code, "message": failure_message, "type": "card_error"}
                if event_type == "payment_intent.payment_failed"
                else None
            ),
            "cancellation_reason": "abandoned" if status == "canceled" else None,
        }
    return {
        "id": event_id or _id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    }


def account_updated_event(
    *,
    account_id: str,
    charges_enabled: bool,
    payouts_enabled: bool,
    details_submitted: bool = True,
    event_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """The account.updated Stripe sends (to a Connect endpoint) when a connected account changes."""
    return {
        "id": event_id or _id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "account": account_id,
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "account.updated",
        "data": {
            "object": {
                "id": account_id,
                "object": "account",
                "type": "express",
                "charges_enabled": charges_enabled,
                "payouts_enabled": payouts_enabled,
                "details_submitted": details_submitted,
                "requirements": {"currently_due": [] if charges_enabled else ["external_account"]},
            }
        },
    }


def event_for_order(event_type: str, *, order_id: int, **options: Any) -> dict[str, Any]:
    """`build_event` for a real order: its PaymentIntent id (from its payment attempt), total and currency."""
    order = Order.objects.get(pk=order_id)
    attempt = (
        PaymentAttempt.objects.filter(order_id=order_id)
        .exclude(payment_intent_id="")
        .order_by("-attempt")
        .first()
    )
    pi = options.pop("payment_intent_id", None) or (attempt.payment_intent_id if attempt else None)
    if not pi:
        raise LookupError(
            f"order {order_id} has no PaymentIntent yet: pay it first (POST /api/v1/orders/<id>/pay)"
        )
    return build_event(
        event_type,
        order_id=order_id,
        payment_intent_id=pi,
        amount=order.total,
        currency=order.currency,
        **options,
    )


@dataclass(frozen=True)
class SignedEvent:
    body: bytes
    signature: str


def sign_event(
    event: dict[str, Any], *, secret: str | None = None, timestamp: int | None = None
) -> SignedEvent:
    """Serialise and sign `event` as Stripe would deliver it."""
    body = json.dumps(event, separators=(",", ":")).encode()
    return SignedEvent(
        body, stripe_signature(body, secret=secret or settings.STRIPE_WEBHOOK_SECRET, timestamp=timestamp)
    )


def post_event(
    event: dict[str, Any], *, url: str, secret: str | None = None, timeout: float = 10.0
) -> tuple[int, str]:
    """POST the signed event to `url` (e.g. http://127.0.0.1:8000/webhooks/stripe/); return status and body."""
    signed = sign_event(event, secret=secret)
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own webhook endpoint
        url,
        data=signed.body,
        method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": signed.signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def deliver_in_process(event: dict[str, Any], *, secret: str | None = None) -> str:
    """Sign the event and hand it to the same verifying intake service the endpoint uses."""
    from commerce.payments.services.webhooks import receive_stripe_webhook

    signed = sign_event(event, secret=secret)
    return receive_stripe_webhook(payload=signed.body, signature=signed.signature).outcome
