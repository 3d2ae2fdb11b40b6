"""The drop's per-buyer limit counted per card fingerprint and per receiving wallet at payment.

Real stripe-mock (PaymentIntents, and the PaymentMethod lookup, whose fingerprint is one fixed
value for every card) and the real webhook endpoint with events signed like Stripe's; distinct
cards are given the way older Stripe API versions deliver them (the charge's
`payment_method_details.card.fingerprint` inside the event), which the tests sign themselves.
"""

import threading
import uuid
from typing import Any

import pytest
import stripe
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection

from commerce.abuse.models import BuyerFlag, FlagRule, PaymentIdentity
from commerce.models import DropItem, Order, OrderStatus, ReservationStatus
from commerce.payments.models import OrderSaga, Refund, SagaState, SagaStep
from commerce.payments.services.intents import start_payment
from commerce.payments.simulator import event_for_order
from commerce.services.orders import place_order
from commerce.services.reservations import reserve_stock
from nft.models import Wallet
from tests.payments.conftest import SHIP_TO
from tests.payments.helpers import deliver_row, outbox, post_webhook

pytestmark = pytest.mark.integration


def wallet_user(make_user: Any) -> User:
    user = make_user()
    Wallet.objects.create(user=user, address="0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8], kind="linked")
    return user


def checkout(drop: Any, sku: Any, user: User, quantity: int = 1) -> Order:
    reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=user.pk, quantity=quantity)
    order = place_order(buyer_id=user.pk, shipping_address=SHIP_TO)
    start_payment(order_id=order.pk)
    order.refresh_from_db()
    return order


def succeeded_webhook(order: Order, *, card: str | None = None, payment_method: str | None = None) -> Any:
    """Stripe says the order's PaymentIntent succeeded (through the real endpoint); the outbox row."""
    event = event_for_order("payment_intent.succeeded", order_id=order.pk)
    intent = event["data"]["object"]
    if card is not None:
        intent["charges"] = {
            "object": "list",
            "data": [{"id": intent["latest_charge"], "object": "charge",
                      "payment_method_details": {"type": "card", "card": {"fingerprint": card, "last4": "4242"}}}],
        }  # fmt: skip
    if payment_method is not None:
        intent["payment_method"] = payment_method
    status, body = post_webhook(event)
    assert status == 200 and body["outcome"] == "accepted", body
    return outbox("payment.succeeded", key=order.pk)[-1]


def pay(order: Order, **card: Any) -> Order:
    deliver_row(succeeded_webhook(order, **card))
    order.refresh_from_db()
    return order


def paid(order: Order) -> bool:
    """Paid and going on (a paid order moves on to fulfilling at once)."""
    return order.paid_at is not None and order.status in (OrderStatus.PAID, OrderStatus.FULFILLING)


def item(order: Order) -> DropItem:
    line = order.lines.get()
    return DropItem.objects.get(pk=line.drop_item_id)


@pytest.mark.django_db(transaction=True)  # the refund reaches the worker after commit
def test_a_second_account_paying_with_the_same_card_is_refunded_and_its_units_released(
    make_user, make_drop, shop, gateway, enqueued
):
    drop = make_drop(skus=[shop["jacket"]], offered=10, limit=1)
    first, second, third = (wallet_user(make_user) for _ in range(3))
    a, b, c = (checkout(drop, shop["jacket"], u) for u in (first, second, third))
    assert paid(pay(a, card="fp_shared_card"))
    refused = pay(b, card="fp_shared_card")
    # Refused: cancelled with a clear reason, its unit back on sale, the whole payment refunded.
    assert (
        refused.status == OrderStatus.CANCELLED
        and "card already paid for 1 of the 1" in refused.status_reason
    )
    assert refused.reservations.get().status == ReservationStatus.RELEASED
    assert (item(a).sold, item(a).reserved) == (1, 1)  # a sold, c still reserved, b released
    refund = Refund.objects.get(order=refused)
    assert refund.amount == refused.total and refund.reason == "card_limit_exceeded"
    assert str(refund.pk) in enqueued
    assert OrderSaga.objects.get(order=refused).state == SagaState.REFUNDING
    step = SagaStep.objects.filter(order=refused, step="payment.succeeded").get()
    assert step.detail["reason"] == "card_limit_exceeded" and step.detail["limit"] == 1
    flag = BuyerFlag.objects.get(buyer=second, rule=FlagRule.IDENTITY_LIMIT)
    assert flag.drop_id == drop.pk and f"order {refused.pk}" in flag.reason
    # Another card is another buyer.
    assert paid(pay(c, card="fp_other_card"))
    assert not BuyerFlag.objects.filter(buyer__in=[first, third]).exists()
    # A redelivery of the refused success changes nothing.
    deliver_row(outbox("payment.succeeded", key=refused.pk)[-1])
    assert Refund.objects.filter(order=refused).count() == 1


@pytest.mark.django_db
def test_the_fingerprint_of_a_payment_method_id_is_looked_up_at_stripe(make_user, make_drop, shop, gateway):
    """stripe-mock answers one fixed fingerprint for any card: two accounts look like one card."""
    client = stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE})
    mock_fingerprint = client.v1.payment_methods.retrieve("pm_card_visa").card.fingerprint
    assert mock_fingerprint
    drop = make_drop(skus=[shop["jacket"]], offered=10, limit=1)
    a, b = (checkout(drop, shop["jacket"], wallet_user(make_user)) for _ in range(2))
    row = succeeded_webhook(a, payment_method="pm_card_visa")
    assert row.payload["card_fingerprint"] == mock_fingerprint
    deliver_row(row)
    a.refresh_from_db()
    assert paid(a)
    assert PaymentIdentity.objects.get(order=a).card_fingerprint == mock_fingerprint
    assert pay(b, payment_method="pm_card_mastercard").status == OrderStatus.CANCELLED
    # Without any card information the card limit is not applied (the demo simulator sends none).
    c = checkout(make_drop(skus=[shop["jacket"]], offered=5, limit=1), shop["jacket"], wallet_user(make_user))
    row = succeeded_webhook(c)
    assert "card_fingerprint" not in row.payload


@pytest.mark.django_db
def test_the_limit_counts_per_receiving_wallet(make_user, make_drop, shop, gateway, enqueued):
    drop = make_drop(skus=[shop["jacket"]], offered=10, limit=1)
    holder, newcomer = wallet_user(make_user), make_user()
    first = checkout(drop, shop["jacket"], holder)
    assert paid(pay(first))
    # The wallet that received the first token is linked to another account, which buys again.
    Wallet.objects.filter(user=holder, kind="linked").update(user=newcomer)
    second = checkout(drop, shop["jacket"], newcomer)
    refused = pay(second)
    assert refused.status == OrderStatus.CANCELLED and "receiving wallet" in refused.status_reason
    assert Refund.objects.get(order=refused).reason == "wallet_limit_exceeded"
    # Physical goods mint nothing: no wallet counted for them.
    tee_drop = make_drop(skus=[shop["tee"]], offered=10, limit=1)
    assert paid(pay(checkout(tee_drop, shop["tee"], holder)))
    assert paid(pay(checkout(tee_drop, shop["tee"], newcomer)))


@pytest.mark.django_db
def test_many_cards_on_one_account_flag_it(make_user, make_drop, shop, gateway, settings):
    settings.ABUSE_FLAG_CARDS_PER_BUYER = 1
    buyer = wallet_user(make_user)
    for n in range(2):
        order = checkout(make_drop(skus=[shop["jacket"]], offered=5, limit=3), shop["jacket"], buyer)
        assert paid(pay(order, card=f"fp_card_{n}"))
    flag = BuyerFlag.objects.get(buyer=buyer, rule=FlagRule.CARDS_PER_BUYER)
    assert "2 different cards" in flag.reason


@pytest.mark.django_db(transaction=True)
def test_two_accounts_paying_with_one_card_at_once_get_one_unit(
    make_user, make_drop, shop, gateway, enqueued
):
    """Real threads on PostgreSQL: the advisory lock per (drop, card) lets exactly one of them fit."""
    drop = make_drop(skus=[shop["jacket"]], offered=10, limit=1)
    orders = [checkout(drop, shop["jacket"], wallet_user(make_user)) for _ in range(4)]
    rows = [succeeded_webhook(order, card="fp_race_card") for order in orders]
    barrier, errors = threading.Barrier(len(rows)), []

    def run(row: Any) -> None:
        try:
            barrier.wait(timeout=60)
            deliver_row(row)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(row,)) for row in rows]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    for order in orders:
        order.refresh_from_db()
    assert sorted(paid(o) for o in orders) == [False, False, False, True]
    assert sum(o.status == OrderStatus.CANCELLED for o in orders) == 3
    assert DropItem.objects.get(drop=drop).sold == 1 and DropItem.objects.get(drop=drop).reserved == 0
    assert Refund.objects.filter(order__in=orders, reason="card_limit_exceeded").count() == 3
