"""A merchant's money: per-order gross, platform fee, refunds and net (our records), and its Stripe
balance and upcoming payouts (read from Stripe's API through the connected account, cached).

Reads only. The fee of an order is what its destination charge carried (`application_fee_amount`,
fixed before the call and sent with it); a refund of a destination charge gives back the same
share of the fee (`refund_application_fee`), prorated as Stripe does: fee * refunded / gross.
"""

import csv
import io
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from commerce.models import Merchant, Order
from commerce.money import plain_amount
from commerce.payments.errors import StripeUnavailable
from commerce.payments.gateway import StripeGateway, get_gateway
from commerce.payments.models import PaymentAttempt, Refund, RefundStatus


@dataclass(frozen=True)
class OrderMoney:
    order_id: int
    created_at: str
    status: str
    currency: str
    gross: int
    fee: int
    refunded: int
    fee_refunded: int
    net: int


def order_money(*, merchant_id: int, limit: int = 1000) -> list[OrderMoney]:
    """Paid (or later) orders of the merchant, newest first, with gross, fee, refunds and net."""
    orders = list(
        Order.objects.filter(merchant_id=merchant_id, paid_at__isnull=False)
        .exclude(payment_intent_id="")
        .order_by("-created_at", "-id")[:limit]
    )
    ids = [o.pk for o in orders]
    fees = {
        (a.order_id, a.payment_intent_id): a.application_fee_amount
        for a in PaymentAttempt.objects.filter(order_id__in=ids).exclude(payment_intent_id="")
    }
    refunds: dict[int, list[int]] = {}
    for order_id, amount in Refund.objects.filter(
        order_id__in=ids, status=RefundStatus.SUCCEEDED
    ).values_list("order_id", "amount"):
        refunds.setdefault(order_id, []).append(amount)
    rows = []
    for order in orders:
        fee = fees.get((order.pk, order.payment_intent_id), 0)
        refunded = sum(refunds.get(order.pk, []))
        fee_back = sum(fee * r // order.total for r in refunds.get(order.pk, [])) if order.total else 0
        rows.append(
            OrderMoney(
                order_id=order.pk,
                created_at=order.created_at.isoformat(),
                status=order.status,
                currency=order.currency,
                gross=order.total,
                fee=fee,
                refunded=refunded,
                fee_refunded=fee_back,
                net=order.total - fee - refunded + fee_back,
            )
        )
    return rows


def orders_csv(*, merchant_id: int) -> str:
    """The CSV export: one row per order, amounts in major units with the currency's own decimals."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["order_id", "created_at", "status", "currency", "gross", "fee", "refunded", "fee_refunded", "net"]
    )
    for row in order_money(merchant_id=merchant_id, limit=100_000):
        amounts = [row.gross, row.fee, row.refunded, row.fee_refunded, row.net]
        writer.writerow(
            [row.order_id, row.created_at, row.status, row.currency.upper()]
            + [plain_amount(a, row.currency).replace(",", "") for a in amounts]
        )
    return out.getvalue()


def _cache_key(merchant: Merchant) -> str:
    return f"merchant-money:{merchant.pk}:{merchant.stripe_account_id}"


def stripe_money(*, merchant: Merchant, gateway: StripeGateway | None = None) -> dict[str, Any]:
    """Balance (available / pending per currency) and upcoming payouts of the connected account.

    Read from Stripe and cached for MARKETPLACE_STRIPE_CACHE_SECONDS (console views are frequent,
    Stripe's rate limit is not). A platform-settled merchant, or one without an account yet, has none.
    `source` says whether the figures came from Stripe now, from the cache, or are unavailable.
    """
    empty: dict[str, Any] = {"available": [], "pending": [], "payouts": [], "source": "none"}
    if not merchant.stripe_account_id:
        return empty
    cached = cache.get(_cache_key(merchant))
    if cached is not None:
        return {**cached, "source": "cache"}
    gateway = gateway or get_gateway()
    try:
        balance = gateway.retrieve_balance(account_id=merchant.stripe_account_id)
        payouts = gateway.list_payouts(account_id=merchant.stripe_account_id, limit=10)
    except StripeUnavailable:
        return {**empty, "source": "unavailable"}
    data = {
        "available": [asdict(a) for a in balance.available],
        "pending": [asdict(a) for a in balance.pending],
        "payouts": [asdict(p) for p in payouts if p.status in ("pending", "in_transit", "paid")],
    }
    cache.set(_cache_key(merchant), data, settings.MARKETPLACE_STRIPE_CACHE_SECONDS)
    return {**data, "source": "stripe"}
