"""Celery tasks of payments: each only calls a service."""

from typing import Any

from celery import shared_task
from django.dispatch import receiver

from commerce.payments.errors import StripeUnavailable
from commerce.payments.services.reconciler import reconcile_payments
from commerce.payments.services.refunds import execute_refund
from commerce.payments.services.saved_cards import charge_off_session
from commerce.payments.signals import off_session_charge_requested, refund_requested


@shared_task(
    name="commerce.payments.tasks.execute_refund",
    autoretry_for=(StripeUnavailable,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=12,
    acks_late=True,
)
def execute_refund_task(refund_id: str) -> str:
    """Make (or repeat, with the same idempotency key) the Stripe call of a pending refund."""
    return str(execute_refund(refund_id=refund_id).status)


@receiver(refund_requested, dispatch_uid="commerce.payments.tasks.queue_refund")
def queue_refund(sender: Any, *, refund_id: str, **kwargs: Any) -> None:
    """A refund intent was committed: queue its Stripe call."""
    execute_refund_task.delay(refund_id)


@shared_task(
    name="commerce.payments.tasks.charge_saved_card",
    autoretry_for=(StripeUnavailable,),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=6,
    acks_late=True,
)
def charge_saved_card_task(order_id: int) -> str:
    """Charge an auction winner's saved card off-session (repeats reuse the attempt's idempotency key)."""
    return charge_off_session(order_id=order_id).result


@receiver(off_session_charge_requested, dispatch_uid="commerce.payments.tasks.queue_off_session_charge")
def queue_off_session_charge(sender: Any, *, order_id: int, **kwargs: Any) -> None:
    charge_saved_card_task.delay(order_id)


@shared_task(name="commerce.payments.tasks.reconcile")
def reconcile() -> dict[str, int]:
    """Beat: bring stuck orders to a final state by asking Stripe (a lost webhook must not strand an order)."""
    return reconcile_payments().as_dict()
