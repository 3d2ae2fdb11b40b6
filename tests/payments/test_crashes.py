"""Crash safety with real processes: kill -9 of the saga consumer mid-stream, and of a refund worker
between Stripe's answer and recording it."""

import json
import signal
import time
from typing import Any

import pytest
from django.db.models import Count

from commerce.models import Order, OrderStatus
from commerce.payments.models import Refund, RefundStatus, SagaStep
from commerce.payments.services.intents import start_payment
from commerce.payments.services.refunds import line_refund_key
from commerce.payments.simulator import event_for_order
from config.faults import CRASH_AT_ENV
from realtime.relay import Relay, backlog
from tests.payments.helpers import deliver, deliver_paid, mint_outcome, outbox, post_webhook
from tests.payments.pipeline import run_python, start_manage

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait(predicate: Any, *, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _paid() -> int:
    return Order.objects.filter(status=OrderStatus.FULFILLING).count()


@pytest.mark.parametrize("crash", ["sigkill_mid_stream", "exit_after_commit_before_offset"])
def test_killed_saga_consumer_loses_no_order_and_advances_none_twice(
    crash: str, make_order: Any, gateway: Any, kafka_prefix: str
) -> None:
    count = 30
    orders = [make_order([("jacket", 1)]) for _ in range(count)]
    for order in orders:
        start_payment(order_id=order.pk)
        assert post_webhook(event_for_order("payment_intent.succeeded", order_id=order.pk))[0] == 200
    relay = Relay()
    assert relay.try_become_leader()
    relay.drain()  # every payment.succeeded is on Kafka before the consumer starts
    assert backlog()[0] == 0
    relay.close()

    if crash == "sigkill_mid_stream":
        child = start_manage("consume", "saga", "--batch-size", "1")
        _wait(lambda: _paid() >= 3, what="the consumer to apply a few payments")
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        assert child.returncode == -signal.SIGKILL
    else:
        child = start_manage(
            "consume", "saga", "--batch-size", "1", MINTDROP_CRASH_AT="consumer.after_commit"
        )
        assert child.wait(120) == 137  # died right after committing an effect, before storing its offset
    stopped_at = _paid()
    assert 1 <= stopped_at < count, f"crash was not mid-stream ({stopped_at}/{count} applied)"

    child = start_manage("consume", "saga")
    try:
        _wait(lambda: _paid() == count, what="every order paid after the restart")
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(60)

    for order in orders:
        assert len(outbox("order.paid", key=order.pk)) == 1
        assert len(outbox("order.fulfilling", key=order.pk)) == 1
        assert len(outbox("nft.mint.requested", key=order.pk)) == 1
        assert len(outbox("inventory.sold", key=order.drop_id)) == 1
    applied = (
        SagaStep.objects.filter(step="payment.succeeded")
        .values("order_id", "outcome")
        .annotate(n=Count("id"))
    )
    assert {(row["outcome"], row["n"]) for row in applied} == {("applied", 1)}
    assert len(applied) == count


SUBPROCESS_REFUND = """
import json
from commerce.payments.gateway import StripeApiGateway
from commerce.payments.services.refunds import execute_refund

class Printing(StripeApiGateway):
    def create_refund(self, **kw):
        result = super().create_refund(**kw)
        call = self.calls[-1]
        print("CALL " + json.dumps({"key": call.idempotency_key, "echoed": call.echoed_idempotency_key,
                                    "amount": call.params["amount"], "pi": call.params["payment_intent"]}), flush=True)
        return result

refund = execute_refund(refund_id=%r, gateway=Printing())
print("STATUS " + refund.status, flush=True)
"""


def test_failed_mint_refunds_exactly_once_even_if_the_worker_is_killed(
    make_order: Any, gateway: Any, enqueued: list[str]
) -> None:
    order = make_order([("jacket", 2)])
    start_payment(order_id=order.pk)
    order.refresh_from_db()
    deliver_paid(order)
    request = outbox("nft.mint.requested", key=order.pk)[0].payload
    deliver("nft.mint.failed", **mint_outcome("nft.mint.failed", request, reason="reverted", tx_hash=None))
    (refund,) = Refund.objects.filter(order=order)
    code = SUBPROCESS_REFUND % str(refund.pk)

    killed = run_python(code, env={CRASH_AT_ENV: "refunds.after_call"})
    assert killed.returncode == 137, killed.stdout + killed.stderr
    refund.refresh_from_db()
    assert (
        refund.status == RefundStatus.PENDING and refund.attempts == 1
    )  # Stripe refunded, we never recorded it
    assert not outbox("payment.refunded")

    reruns = [run_python(code) for _ in range(2)]  # the task is redelivered (acks_late), then the reconciler
    assert all(run.returncode == 0 for run in reruns), [run.stdout + run.stderr for run in reruns]
    assert [run.stdout.splitlines()[-1] for run in reruns] == ["STATUS succeeded", "STATUS succeeded"]
    runs = (killed, *reruns)
    calls = [
        json.loads(line[5:]) for run in runs for line in run.stdout.splitlines() if line.startswith("CALL ")
    ]
    assert len(calls) == 2  # the killed call and its repeat; the third run found the refund recorded
    assert {c["key"] for c in calls} == {line_refund_key(request["line_id"])}
    assert all(
        c["echoed"] == c["key"] and c["amount"] == 1500 and c["pi"] == order.payment_intent_id for c in calls
    )
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.attempts == 2
    assert len(outbox("payment.refunded", key=order.pk)) == 1
    assert len(outbox("order.line_failed", key=order.pk)) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED and order.refunded_amount == 1500
