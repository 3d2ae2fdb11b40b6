"""An auction winner who saved a card (with consent) is charged off-session, once, on stripe-mock;
a declined card leaves the checkout window open; a buyer without one gets the usual checkout."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from commerce.auctions.models import Auction
from commerce.auctions.services import bidding, closing
from commerce.models import Order, OrderStatus
from commerce.payments.errors import StripeRejected
from commerce.payments.gateway import IntentResult
from commerce.payments.models import AttemptStatus, PaymentAttempt, SagaStep, StripeEvent
from commerce.payments.services import saved_cards
from commerce.payments.services.intents import start_payment
from realtime.models import OutboxEvent
from tests.auctions.conftest import move_end
from tests.payments.conftest import GuardedGateway

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


class DecliningGateway(GuardedGateway):
    """stripe-mock never declines: this one answers an off-session charge as Stripe does for a
    declined card (HTTP 402 card_error), after stripe-mock has validated the request."""

    def create_intent(self, **kw: Any) -> IntentResult:
        result = super().create_intent(**kw)
        if kw.get("off_session") is not None:
            raise StripeRejected("Your card was declined.", details={"stripe_code": "card_declined",
                                                                     "http_status": 402})  # fmt: skip
        return result


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Orders whose off-session charge was queued for the Celery worker (no worker in these tests)."""
    calls: list[int] = []
    monkeypatch.setattr("commerce.payments.tasks.charge_saved_card_task.delay", calls.append)
    return calls


def _install(monkeypatch: pytest.MonkeyPatch, gateway: GuardedGateway) -> GuardedGateway:
    """The demo settings (stripe-mock's SetupIntent answer read as Stripe's) and `gateway` as the process's."""
    monkeypatch.setattr("django.conf.settings.PAYMENTS_DEMO_CONFIRM", True)
    monkeypatch.setattr("commerce.payments.gateway._default", gateway)
    return gateway


def _won(start_auction: Callable[..., Auction], winner: User, capture: Any) -> Order:
    auction = start_auction()
    bidding.place_bid(auction_id=auction.pk, user=winner, amount=1300)
    move_end(auction, -1)
    with capture(execute=True):
        closing.close_auction(auction_id=auction.pk)
    auction.refresh_from_db()
    return Order.objects.get(pk=auction.order_id or 0)


@pytest.mark.django_db(transaction=True)  # real commits: the gateway sees whether a call is inside one
def test_a_winner_with_a_saved_card_is_charged_off_session_once(
    start_auction: Callable[..., Auction],
    make_user: Callable[..., User],
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = _install(monkeypatch, GuardedGateway())  # the demo: the simulator signs Stripe's webhook
    winner = make_user("winner")
    card = saved_cards.save_card(user_id=winner.pk, payment_method="pm_card_visa", consent=True)
    order = _won(start_auction, winner, django_capture_on_commit_callbacks)
    assert queued == [order.pk]

    outcome = saved_cards.charge_off_session(order_id=order.pk)
    assert outcome.result == "charged", outcome
    (create,) = gateway.ops("payment_intents.create")
    assert create.params["off_session"] is True and create.params["confirm"] is True
    assert (create.params["customer"], create.params["payment_method"]) == (
        card.customer_id,
        card.payment_method_id,
    )
    assert create.params["amount"] == order.total == 1300
    assert "automatic_payment_methods" not in create.params
    assert StripeEvent.objects.filter(order=order, type="payment_intent.succeeded").count() == 1
    assert OutboxEvent.objects.filter(type="payment.succeeded", aggregateid=str(order.pk)).count() == 1

    # A redelivered task (or a second worker) charges nothing more.
    again = saved_cards.charge_off_session(order_id=order.pk)
    assert again.result == "buyer_paying" and len(gateway.ops("payment_intents.create")) == 1
    assert gateway.in_transaction_calls == 0


def test_a_declined_saved_card_leaves_the_checkout_window_to_pay_by_hand(
    start_auction: Callable[..., Auction],
    make_user: Callable[..., User],
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = _install(monkeypatch, DecliningGateway())
    winner = make_user("winner")
    saved_cards.save_card(user_id=winner.pk, payment_method="pm_card_chargeDeclined", consent=True)
    order = _won(start_auction, winner, django_capture_on_commit_callbacks)

    outcome = saved_cards.charge_off_session(order_id=order.pk)
    assert outcome.result == "declined" and "declined" in outcome.error
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT  # the offer stands until its checkout window ends
    assert PaymentAttempt.objects.get(order=order).status == AttemptStatus.FAILED
    step = SagaStep.objects.get(order=order, step="payment_intent.off_session")
    assert step.outcome == "failed" and step.detail["stripe_code"] == "card_declined"

    started = start_payment(order_id=order.pk, buyer_id=winner.pk)  # the buyer pays on the page
    assert started.fresh and started.attempt == 2
    manual = gateway.ops("payment_intents.create")[-1]
    assert "off_session" not in manual.params and manual.params["automatic_payment_methods"] == {
        "enabled": True
    }


def test_no_saved_card_or_a_removed_one_means_the_usual_checkout(
    start_auction: Callable[..., Auction],
    make_user: Callable[..., User],
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = _install(monkeypatch, GuardedGateway())
    winner = make_user("winner")
    saved_cards.save_card(user_id=winner.pk, payment_method="pm_card_visa", consent=True)
    assert saved_cards.remove_card(user_id=winner.pk)
    order = _won(start_auction, winner, django_capture_on_commit_callbacks)
    assert queued == []
    assert saved_cards.charge_off_session(order_id=order.pk).result == "no_card"
    assert (
        not gateway.ops("payment_intents.create") and not PaymentAttempt.objects.filter(order=order).exists()
    )
