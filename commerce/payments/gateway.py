"""The thin interface to Stripe the payments code uses, and its stripe-python implementation.

Every write goes with an idempotency key chosen by the caller, so any call may be repeated (after
a timeout, a crash, a Celery retry) without a second charge or refund. The same code talks to
stripe-mock in dev and tests and to the real API when STRIPE_API_BASE / STRIPE_SECRET_KEY say so.
Never call it inside a database transaction.
"""

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import stripe
from django.conf import settings

from commerce.payments.errors import StripeRejected, StripeUnavailable


@dataclass(frozen=True)
class IntentResult:
    id: str
    status: str
    amount: int
    currency: str
    client_secret: str = ""


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount: int


@dataclass(frozen=True)
class GatewayCall:
    """What was sent and what the server echoed (stripe-mock and Stripe echo the Idempotency-Key)."""

    operation: str
    params: dict[str, Any]
    idempotency_key: str | None
    echoed_idempotency_key: str | None
    result_id: str


class StripeGateway(Protocol):
    """The Stripe operations payments needs."""

    def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> IntentResult: ...

    def retrieve_intent(self, *, payment_intent_id: str) -> IntentResult: ...

    def confirm_intent(
        self, *, payment_intent_id: str, payment_method: str, idempotency_key: str
    ) -> IntentResult: ...

    def cancel_intent(self, *, payment_intent_id: str, idempotency_key: str) -> IntentResult: ...

    def create_refund(
        self, *, payment_intent_id: str, amount: int, metadata: dict[str, str], idempotency_key: str
    ) -> RefundResult: ...


def _translate(exc: stripe.StripeError) -> Exception:
    """5xx, 429 and network errors may be repeated with the same key; anything else is final."""
    status = exc.http_status or 0
    details = {"stripe_code": exc.code or "", "http_status": status, "request_id": exc.request_id or ""}
    message = (exc.user_message or str(exc) or "Stripe error")[:500]
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or status >= 500 or status == 0:
        return StripeUnavailable(message, details=details)
    return StripeRejected(message, details=details)


@dataclass
class StripeApiGateway:
    """`StripeGateway` over stripe-python's `StripeClient` (API base and key from settings)."""

    api_key: str = ""
    api_base: str = ""
    calls: deque[GatewayCall] = field(default_factory=lambda: deque(maxlen=200))

    def __post_init__(self) -> None:
        self.client = stripe.StripeClient(
            self.api_key or settings.STRIPE_SECRET_KEY,
            base_addresses={"api": self.api_base or settings.STRIPE_API_BASE},
            max_network_retries=settings.PAYMENTS_STRIPE_MAX_RETRIES,
            http_client=stripe.RequestsClient(timeout=settings.PAYMENTS_STRIPE_TIMEOUT_SECONDS),
        )

    def _record(self, operation: str, params: dict[str, Any], key: str | None, obj: Any) -> None:
        response = getattr(obj, "last_response", None)
        headers = getattr(response, "headers", None) or {}
        echoed = headers.get("Idempotency-Key") or headers.get("idempotency-key")
        self.calls.append(GatewayCall(operation, params, key, echoed, str(obj.id)))

    def _intent(self, obj: Any) -> IntentResult:
        return IntentResult(
            id=obj.id,
            status=obj.status,
            amount=int(obj.amount),
            currency=str(obj.currency),
            client_secret=obj.client_secret or "",
        )

    def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> IntentResult:
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency,
            "metadata": metadata,
            "automatic_payment_methods": {"enabled": True},
        }
        try:
            obj = self.client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        self._record("payment_intents.create", params, idempotency_key, obj)
        return self._intent(obj)

    def retrieve_intent(self, *, payment_intent_id: str) -> IntentResult:
        try:
            obj = self.client.v1.payment_intents.retrieve(payment_intent_id)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        self._record("payment_intents.retrieve", {"id": payment_intent_id}, None, obj)
        return self._intent(obj)

    def confirm_intent(
        self, *, payment_intent_id: str, payment_method: str, idempotency_key: str
    ) -> IntentResult:
        params = {"payment_method": payment_method}
        try:
            obj = self.client.v1.payment_intents.confirm(
                payment_intent_id,
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        self._record("payment_intents.confirm", {"id": payment_intent_id, **params}, idempotency_key, obj)
        return self._intent(obj)

    def cancel_intent(self, *, payment_intent_id: str, idempotency_key: str) -> IntentResult:
        params = {"cancellation_reason": "abandoned"}
        try:
            obj = self.client.v1.payment_intents.cancel(
                payment_intent_id,
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        self._record("payment_intents.cancel", {"id": payment_intent_id, **params}, idempotency_key, obj)
        return self._intent(obj)

    def create_refund(
        self, *, payment_intent_id: str, amount: int, metadata: dict[str, str], idempotency_key: str
    ) -> RefundResult:
        params: dict[str, Any] = {"payment_intent": payment_intent_id, "amount": amount, "metadata": metadata}
        try:
            obj = self.client.v1.refunds.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        self._record("refunds.create", params, idempotency_key, obj)
        return RefundResult(id=obj.id, status=str(obj.status), amount=int(obj.amount))


_default: StripeGateway | None = None


def get_gateway() -> StripeGateway:
    """The process-wide gateway (built on first use from settings)."""
    global _default
    if _default is None:
        _default = StripeApiGateway()
    return _default
