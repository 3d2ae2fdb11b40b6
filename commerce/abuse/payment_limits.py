"""At payment: the drop's per-buyer limit also counted per card fingerprint and per receiving wallet.

Many accounts paying with one card, or minting to one wallet, are one buyer. When Stripe reports a
PaymentIntent succeeded, the units of each drop in the order are added to those already paid in
that drop with the same card fingerprint and, for NFT lines, the same receiving wallet (orders
paid and not refunded or cancelled). Over the drop's `per_buyer_limit` the order is not fulfilled:
it is cancelled (its reserved units go back on sale at once, `inventory.released`), the whole
payment is refunded (reason `card_limit_exceeded` / `wallet_limit_exceeded`), the saga timeline
says why, and the buyer is flagged. Concurrent payments with one card or wallet are serialised by a
transaction-scoped advisory lock per (drop, identity), so two of them cannot both fit.

Runs inside the saga's transaction (order and saga locked) and only reads the wallet from the
database: no network call.
"""

import hashlib
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Sum

from commerce.abuse.flags import flag_buyer
from commerce.abuse.models import FlagRule, PaymentIdentity
from commerce.models import Drop, Order, OrderStatus
from commerce.models.reservations import ReleaseReason
from commerce.payments.models import OrderSaga, SagaState
from commerce.payments.services.refunds import order_refund_key, request_refund
from commerce.payments.services.timeline import StepOutcome, sync_state
from commerce.payments.wallets import buyer_mint_address
from commerce.services.cancellations import cancel_order

# Orders whose units count: paid and still standing (not cancelled or fully refunded).
_COUNTED = (OrderStatus.PAID, OrderStatus.FULFILLING, OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED)


def _lock(drop_id: int, kind: str, value: str) -> None:
    digest = hashlib.blake2b(f"abuse:{drop_id}:{kind}:{value}".encode(), digest_size=8).digest()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)])


def _paid_units(*, drop_id: int, kind: str, value: str, order_id: int) -> int:
    rows = PaymentIdentity.objects.filter(drop_id=drop_id, order__status__in=_COUNTED).exclude(
        order_id=order_id
    )
    rows = rows.filter(card_fingerprint=value) if kind == "card" else rows.filter(wallet=value)
    return int(rows.aggregate(n=Sum("units"))["n"] or 0)


def refuse_over_identity_limits(
    *, order: Order, saga: OrderSaga, amount: int, card_fingerprint: str, step: Any
) -> bool:
    """Inside the saga's payment-succeeded step, before the order is marked paid.

    Returns True when the order was refused (cancelled + refund requested; the caller stops),
    False when it fits (its identities are recorded and it goes on to be paid).
    """
    if not settings.ABUSE_IDENTITY_LIMITS:
        return False
    units: dict[int, int] = defaultdict(int)
    mints = False
    for line in order.lines.select_related("drop_item"):
        if line.drop_item is not None:
            units[line.drop_item.drop_id] += line.quantity
            mints = mints or line.mints_nft
    if not units:
        return False
    wallet = (buyer_mint_address(order.buyer_id) or "").lower() if mints else ""
    limits = dict(Drop.objects.filter(pk__in=list(units)).values_list("pk", "per_buyer_limit"))
    identities = [(kind, value) for kind, value in (("card", card_fingerprint), ("wallet", wallet)) if value]
    for drop_id, kind, value in sorted((d, k, v) for d in units for k, v in identities):
        _lock(drop_id, kind, value)
    for drop_id in sorted(units):
        for kind, value in identities:
            held = _paid_units(drop_id=drop_id, kind=kind, value=value, order_id=order.pk)
            if held + units[drop_id] > limits[drop_id]:
                _refuse(order=order, saga=saga, amount=amount, step=step, drop_id=drop_id, kind=kind,
                        held=held, units=units[drop_id], limit=limits[drop_id])  # fmt: skip
                return True
    for drop_id, n in units.items():
        PaymentIdentity.objects.update_or_create(
            order=order, drop_id=drop_id,
            defaults={"buyer_id": order.buyer_id, "units": n, "card_fingerprint": card_fingerprint, "wallet": wallet},
        )  # fmt: skip
    if card_fingerprint:
        _watch_cards(buyer_id=order.buyer_id, drop_id=min(units))
    return False


def _refuse(
    *,
    order: Order,
    saga: OrderSaga,
    amount: int,
    step: Any,
    drop_id: int,
    kind: str,
    held: int,
    units: int,
    limit: int,
) -> None:
    reason = f"{kind}_limit_exceeded"
    what = "card" if kind == "card" else "receiving wallet"
    message = f"this {what} already paid for {held} of the {limit} units one buyer may have in this drop"
    cancel_order(order_id=order.pk, reason=message[:200], release_reason=ReleaseReason.ORDER_CANCELLED)
    request_refund(order=order, amount=amount, key=order_refund_key(order.pk, reason), reason=reason)
    step(StepOutcome.APPLIED, action=f"refused: {message}; order cancelled, full refund requested",
         reason=reason, drop_id=drop_id, held=held, requested=units, limit=limit)  # fmt: skip
    order.refresh_from_db()
    sync_state(saga, order, state=SagaState.REFUNDING)
    flag_buyer(
        buyer_id=order.buyer_id,
        drop_id=drop_id,
        rule=FlagRule.IDENTITY_LIMIT,
        reason=f"paid over the limit with a shared {what} (order {order.pk} refunded)",
        detail={"order_id": order.pk, "kind": kind, "held": held, "requested": units, "limit": limit},
    )


def _watch_cards(*, buyer_id: int, drop_id: int) -> None:
    threshold = int(settings.ABUSE_FLAG_CARDS_PER_BUYER)
    if threshold <= 0:
        return
    cards = (
        PaymentIdentity.objects.filter(buyer_id=buyer_id).exclude(card_fingerprint="")
        .values("card_fingerprint").distinct().count()
    )  # fmt: skip
    if cards > threshold:
        flag_buyer(
            buyer_id=buyer_id,
            drop_id=drop_id,
            rule=FlagRule.CARDS_PER_BUYER,
            reason=f"{cards} different cards paid on this account (rule: more than {threshold})",
            detail={"cards": cards, "threshold": threshold},
        )
