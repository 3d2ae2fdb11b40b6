"""Stripe Connect for merchants: the Express connected account, onboarding links, account.updated.

Network calls never run inside a transaction. The account is created with a key derived from the
merchant id, so a retry after a crash (between Stripe's answer and our write) gets the same account
back instead of a second one. account.updated deliveries are stored once by event id (in the
webhook intake) and applied here only if newer than the last applied one: Stripe does not order
webhooks.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from commerce.errors import NotFound
from commerce.models import Merchant, MerchantRole, Settlement
from commerce.payments.gateway import AccountLinkResult, StripeGateway, get_gateway
from config.faults import crash_point
from realtime.outbox import emit


def account_idempotency_key(merchant_id: int) -> str:
    """One connected account per merchant, however often its creation is repeated."""
    return f"mintdrop-merchant-{merchant_id}-account"


def _merchant(merchant_id: int) -> Merchant:
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        raise NotFound("Merchant not found.", details={"resource": "merchant", "id": merchant_id})
    return merchant


def _owner_email(merchant: Merchant) -> str:
    application = getattr(merchant, "application", None)
    if application is not None:
        return str(application.contact_email)
    owner = merchant.memberships.filter(role=MerchantRole.OWNER).select_related("user").first()
    return owner.user.email if owner and owner.user.email else ""


def ensure_connected_account(*, merchant_id: int, gateway: StripeGateway | None = None) -> Merchant:
    """Create the merchant's Express account at Stripe once; returns the merchant with its account id."""
    merchant = _merchant(merchant_id)
    if merchant.stripe_account_id:
        return merchant
    application = getattr(merchant, "application", None)
    result = (gateway or get_gateway()).create_account(
        email=_owner_email(merchant),
        country=application.country if application is not None else "US",
        business_name=merchant.name,
        metadata={"merchant_id": str(merchant.pk)},
        idempotency_key=account_idempotency_key(merchant.pk),
    )
    # Test-only: die after Stripe made the account, before we record it (the retry must re-send the key).
    crash_point("connect.after_account_create")
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().get(pk=merchant_id)
        if not merchant.stripe_account_id:
            merchant.stripe_account_id = result.id
            merchant.settlement = Settlement.CONNECT
            merchant.save(update_fields=["stripe_account_id", "settlement", "updated_at"])
            emit(
                type="merchant.account_created",
                key=merchant.pk,
                payload={"merchant_id": merchant.pk, "stripe_account_id": result.id},
            )
    return merchant


def create_onboarding_link(
    *, merchant_id: int, request_key: str | None = None, gateway: StripeGateway | None = None
) -> AccountLinkResult:
    """An Express onboarding link for the merchant's account (created first if needed).

    Links expire within minutes, so each request makes a new one; `request_key` (the client's
    Idempotency-Key) makes a repeated request get the same link back.
    """
    gateway = gateway or get_gateway()
    merchant = ensure_connected_account(merchant_id=merchant_id, gateway=gateway)
    base = settings.MARKETPLACE_PUBLIC_URL.rstrip("/")
    console = f"{base}/console/{merchant.pk}/money/"
    return gateway.create_account_link(
        account_id=merchant.stripe_account_id,
        refresh_url=f"{console}?onboarding=refresh",
        return_url=f"{console}?onboarding=done",
        idempotency_key=f"mintdrop-merchant-{merchant.pk}-link-{request_key or uuid.uuid4().hex}",
    )


def apply_account_updated(*, account: dict[str, Any], created: int, stripe_event_id: str) -> str:
    """Inside the webhook's transaction: copy an account.updated onto its merchant. Returns what it did.

    Ignored (and said so) for an account we do not know or an event older than the last one applied.
    """
    merchant = Merchant.objects.select_for_update().filter(stripe_account_id=account["id"]).first()
    if merchant is None:
        return "unknown account"
    at = datetime.fromtimestamp(created, UTC)
    if merchant.stripe_account_synced_at is not None and at < merchant.stripe_account_synced_at:
        return "older than the state applied"
    before = (merchant.charges_enabled, merchant.payouts_enabled, merchant.details_submitted)
    merchant.charges_enabled = bool(account.get("charges_enabled"))
    merchant.payouts_enabled = bool(account.get("payouts_enabled"))
    merchant.details_submitted = bool(account.get("details_submitted"))
    merchant.stripe_account_synced_at = at
    merchant.save(
        update_fields=[
            "charges_enabled",
            "payouts_enabled",
            "details_submitted",
            "stripe_account_synced_at",
            "updated_at",
        ]
    )
    after = (merchant.charges_enabled, merchant.payouts_enabled, merchant.details_submitted)
    if after != before:
        emit(
            type="merchant.account_updated",
            key=merchant.pk,
            payload={
                "merchant_id": merchant.pk,
                "stripe_account_id": merchant.stripe_account_id,
                "charges_enabled": merchant.charges_enabled,
                "payouts_enabled": merchant.payouts_enabled,
                "details_submitted": merchant.details_submitted,
                "stripe_event_id": stripe_event_id,
            },
        )
    return "applied" if after != before else "no change"
