"""The saga's state row and timeline; every function here runs inside the caller's transaction."""

from typing import Any
from uuid import UUID

from django.db import transaction

from commerce.models import Order, OrderStatus
from commerce.payments.models import OrderSaga, SagaState, SagaStep, StepOutcome
from monitoring.metrics import count_saga_step

# Saga state that mirrors each final / late order status.
_FROM_ORDER = {
    OrderStatus.FULFILLING: SagaState.FULFILLING,
    OrderStatus.PAID: SagaState.FULFILLING,
    OrderStatus.FULFILLED: SagaState.FULFILLED,
    OrderStatus.CANCELLED: SagaState.CANCELLED,
    OrderStatus.REFUNDED: SagaState.REFUNDED,
    OrderStatus.PARTIALLY_REFUNDED: SagaState.PARTIALLY_REFUNDED,
}


def lock_saga(order_id: int) -> OrderSaga:
    """The order's saga row, created on first use, locked FOR UPDATE (call after `lock_order`)."""
    OrderSaga.objects.get_or_create(order_id=order_id)
    return OrderSaga.objects.select_for_update().get(order_id=order_id)


def record_step(
    *,
    order_id: int,
    step: str,
    outcome: str,
    event_id: UUID | None = None,
    stripe_event_id: str = "",
    line_id: int | None = None,
    **detail: Any,
) -> SagaStep:
    """Append one entry to the order's timeline (counted in metrics once it commits)."""
    transaction.on_commit(lambda: count_saga_step(step, outcome))
    return SagaStep.objects.create(
        order_id=order_id,
        step=step,
        outcome=outcome,
        event_id=event_id,
        stripe_event_id=stripe_event_id or "",
        line_id=line_id,
        detail=detail,
    )


def sync_state(saga: OrderSaga, order: Order, *, state: str | None = None) -> None:
    """Save the saga with `state`, or with the state that follows from the order's status."""
    saga.state = state or _FROM_ORDER.get(order.status, saga.state)  # type: ignore[call-overload]
    saga.save()


__all__ = ["StepOutcome", "lock_saga", "record_step", "sync_state"]
