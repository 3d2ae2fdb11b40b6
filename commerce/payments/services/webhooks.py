"""Stripe webhook intake: verify, store once by Stripe event id, turn into a `payment.*` outbox event.

Nothing else happens here (the saga applies the event from Kafka), so the endpoint answers fast.
Stripe delivers at least once, in any order, retrying for days: the unique Stripe event id makes
a redelivery a no-op, and the saga's state machine makes late or out-of-order facts harmless.
"""

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from commerce.abuse.fingerprints import card_facts
from commerce.models import Order
from commerce.payments.errors import InvalidSignature, MalformedEvent
from commerce.payments.models import PaymentAttempt, StripeEvent
from commerce.payments.services.connect import apply_account_updated
from realtime.errors import InvalidEvent
from realtime.outbox import emit

# Stripe event type -> the outbox event it becomes.
HANDLED_TYPES = {
    "payment_intent.succeeded": "payment.succeeded",
    "payment_intent.payment_failed": "payment.failed",
    "payment_intent.canceled": "payment.canceled",
    "charge.refunded": "payment.refunded",
}


@dataclass(frozen=True)
class WebhookReceipt:
    outcome: str  # accepted | duplicate | ignored
    stripe_event_id: str = ""
    emitted_type: str = ""
    reason: str = ""


def verify_signature(*, payload: bytes, signature: str | None) -> None:
    """Check the Stripe-Signature header (HMAC + timestamp tolerance, both directions)."""
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE
    try:
        stripe.WebhookSignature.verify_header(payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise InvalidSignature("The Stripe-Signature header does not verify.") from exc
    # stripe-python only rejects old timestamps; a far-future one is as suspicious.
    stamps = [p[2:] for p in (signature or "").split(",") if p.startswith("t=")]
    if not stamps or not stamps[0].isdigit() or int(stamps[0]) > time.time() + tolerance:
        raise InvalidSignature("The Stripe-Signature timestamp is outside the tolerance.")


def _require(doc: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedEvent(f"The event has no valid {key!r}.", details={"field": key})
    return value


def _order_id(obj: dict[str, Any], payment_intent_id: str) -> int | None:
    """Which order the object is about: our PaymentIntent record first, then its metadata."""
    attempt = PaymentAttempt.objects.filter(payment_intent_id=payment_intent_id).only("order_id").first()
    if attempt is not None:
        return attempt.order_id
    raw = (obj.get("metadata") or {}).get("order_id") if isinstance(obj.get("metadata"), dict) else None
    if isinstance(raw, str) and raw.isdigit() and Order.objects.filter(pk=int(raw)).exists():
        return int(raw)
    return None


def _intent_payload(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "payment_intent_id": _require(obj, "id", str),
        "amount": _require(obj, "amount", int),
        "currency": str(_require(obj, "currency", str)).lower(),
    }
    error = obj.get("last_payment_error")
    if event_type == "payment_intent.payment_failed" and isinstance(error, dict):
        if error.get("code"):
            payload["failure_code"] = str(error["code"])[:100]
        if error.get("message"):
            payload["failure_message"] = str(error["message"])[:500]
    return payload


def _refund_payload(obj: dict[str, Any]) -> dict[str, Any]:
    charge_id = _require(obj, "id", str)
    total_refunded = _require(obj, "amount_refunded", int)
    payload: dict[str, Any] = {
        "payment_intent_id": _require(obj, "payment_intent", str),
        "currency": str(_require(obj, "currency", str)).lower(),
        "amount_refunded_total": total_refunded,
    }
    refunds = obj.get("refunds")
    data = refunds.get("data") if isinstance(refunds, dict) else None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        latest = data[0]  # Stripe lists the newest refund first
        payload["refund_id"] = _require(latest, "id", str)
        payload["amount"] = _require(latest, "amount", int)
        raw_metadata = latest.get("metadata")
        metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
        if str(metadata.get("line_id", "")).isdigit():
            payload["line_id"] = int(metadata["line_id"])
        if metadata.get("refund_key"):
            payload["refund_key"] = str(metadata["refund_key"])[:255]
        if metadata.get("reason"):
            payload["reason"] = str(metadata["reason"])[:200]
    else:
        # Newer API versions do not embed the refunds: identify the state by the running total.
        payload["refund_id"] = f"{charge_id}@{total_refunded}"
        payload["amount"] = total_refunded
    return payload


def receive_stripe_webhook(*, payload: bytes, signature: str | None) -> WebhookReceipt:
    """Verify, de-duplicate and record one Stripe webhook delivery; emit its `payment.*` event.

    Raises InvalidSignature or MalformedEvent (HTTP 400, nothing stored). Unknown event types and
    events about orders we do not know are acknowledged and ignored so Stripe stops retrying.
    """
    verify_signature(payload=payload, signature=signature)
    try:
        doc = json.loads(payload)
    except ValueError as exc:
        raise MalformedEvent("The body is not JSON.") from exc
    if not isinstance(doc, dict) or doc.get("object", "event") != "event":
        raise MalformedEvent("The body is not a Stripe event.")
    event_id = _require(doc, "id", str)
    event_type = _require(doc, "type", str)
    if not event_id.startswith("evt_"):
        raise MalformedEvent("The event id is not a Stripe event id.", details={"field": "id"})
    if event_type == "account.updated":
        return _receive_account_updated(doc, event_id)
    if event_type not in HANDLED_TYPES:
        return WebhookReceipt("ignored", event_id, reason=f"unhandled type {event_type}")
    data = _require(doc, "data", dict)
    obj = _require(data, "object", dict)
    fact = _refund_payload(obj) if event_type == "charge.refunded" else _intent_payload(event_type, obj)
    fact.update(card_facts(event_type, obj))  # the card's fingerprint (per-card buyer limit), before the txn
    order_id = _order_id(obj, fact["payment_intent_id"])
    created = doc.get("created")
    record = StripeEvent(
        stripe_event_id=event_id,
        type=event_type,
        order_id=order_id,
        payment_intent_id=fact["payment_intent_id"],
        stripe_created=datetime.fromtimestamp(created, UTC) if isinstance(created, int) else None,
        livemode=bool(doc.get("livemode")),
        payload=doc,
    )
    outbox_type = HANDLED_TYPES[event_type]
    if order_id is None:
        record.ignored_reason = "unknown order"
    else:
        record.emitted_type = outbox_type
    try:
        with transaction.atomic():
            record.save()
            if order_id is not None:
                emit(
                    type=outbox_type,
                    key=order_id,
                    payload={"order_id": order_id, **fact, "stripe_event_id": event_id},
                )
    except IntegrityError:
        if StripeEvent.objects.filter(stripe_event_id=event_id).exists():
            return WebhookReceipt("duplicate", event_id)
        raise
    except InvalidEvent as exc:
        raise MalformedEvent("The event does not carry valid payment data.", details=exc.details) from exc
    if order_id is None:
        return WebhookReceipt("ignored", event_id, reason="unknown order")
    return WebhookReceipt("accepted", event_id, emitted_type=outbox_type)


def _receive_account_updated(doc: dict[str, Any], event_id: str) -> WebhookReceipt:
    """A connected account changed (onboarding finished, charges or payouts enabled or disabled).

    Stored once by event id like every Stripe event; the merchant's flags change in the same
    transaction, and only if the event is newer than the state already applied.
    """
    obj = _require(_require(doc, "data", dict), "object", dict)
    account_id = _require(obj, "id", str)
    if not account_id.startswith("acct_"):
        raise MalformedEvent("The account id is not a Stripe account id.", details={"field": "id"})
    for flag in ("charges_enabled", "payouts_enabled"):
        if not isinstance(obj.get(flag), bool):
            raise MalformedEvent(f"The account has no valid {flag!r}.", details={"field": flag})
    created = doc.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        raise MalformedEvent("The event has no valid 'created'.", details={"field": "created"})
    record = StripeEvent(
        stripe_event_id=event_id,
        type="account.updated",
        stripe_created=datetime.fromtimestamp(created, UTC),
        livemode=bool(doc.get("livemode")),
        payload=doc,
    )
    try:
        with transaction.atomic():
            record.save()
            outcome = apply_account_updated(account=obj, created=created, stripe_event_id=event_id)
            if outcome in ("applied", "no change"):
                record.emitted_type = "merchant.account_updated" if outcome == "applied" else ""
            else:
                record.ignored_reason = outcome
            record.save(update_fields=["emitted_type", "ignored_reason"])
    except IntegrityError:
        if StripeEvent.objects.filter(stripe_event_id=event_id).exists():
            return WebhookReceipt("duplicate", event_id)
        raise
    if record.ignored_reason:
        return WebhookReceipt("ignored", event_id, reason=record.ignored_reason)
    return WebhookReceipt("accepted", event_id, emitted_type=record.emitted_type)
