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
class AccountResult:
    id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool


@dataclass(frozen=True)
class AccountLinkResult:
    url: str
    expires_at: int


@dataclass(frozen=True)
class Destination:
    """Where a destination charge sends the money, and what the platform keeps of it."""

    account_id: str
    application_fee_amount: int


@dataclass(frozen=True)
class BalanceAmount:
    amount: int
    currency: str


@dataclass(frozen=True)
class BalanceResult:
    available: list[BalanceAmount]
    pending: list[BalanceAmount]


@dataclass(frozen=True)
class PayoutResult:
    id: str
    amount: int
    currency: str
    arrival_date: int
    status: str


@dataclass(frozen=True)
class OffSession:
    """Charge a saved card without the buyer present (they agreed to it when they saved it)."""

    customer_id: str
    payment_method_id: str


@dataclass(frozen=True)
class SetupResult:
    id: str
    status: str
    client_secret: str
    payment_method_id: str


@dataclass(frozen=True)
class CardResult:
    payment_method_id: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    fingerprint: str


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
        self,
        *,
        amount: int,
        currency: str,
        metadata: dict[str, str],
        idempotency_key: str,
        destination: Destination | None = None,
        off_session: OffSession | None = None,
    ) -> IntentResult: ...

    def retrieve_intent(self, *, payment_intent_id: str) -> IntentResult: ...

    def confirm_intent(
        self, *, payment_intent_id: str, payment_method: str, idempotency_key: str
    ) -> IntentResult: ...

    def cancel_intent(self, *, payment_intent_id: str, idempotency_key: str) -> IntentResult: ...

    def create_refund(
        self,
        *,
        payment_intent_id: str,
        amount: int,
        metadata: dict[str, str],
        idempotency_key: str,
        reverse_transfer: bool = False,
    ) -> RefundResult: ...

    def create_account(
        self, *, email: str, country: str, business_name: str, metadata: dict[str, str], idempotency_key: str
    ) -> AccountResult: ...

    def create_account_link(
        self, *, account_id: str, refresh_url: str, return_url: str, idempotency_key: str
    ) -> AccountLinkResult: ...

    def retrieve_balance(self, *, account_id: str) -> BalanceResult: ...

    def list_payouts(self, *, account_id: str, limit: int = 10) -> list[PayoutResult]: ...

    def create_customer(self, *, email: str, metadata: dict[str, str], idempotency_key: str) -> str: ...

    def setup_card(self, *, customer_id: str, payment_method: str, idempotency_key: str) -> SetupResult: ...

    def retrieve_card(self, *, payment_method_id: str) -> CardResult: ...

    def detach_card(self, *, payment_method_id: str, idempotency_key: str) -> None: ...


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

    # stripe-python's HTTP client (tests pass a recording subclass that still sends every request).
    http_client: stripe.HTTPClient | None = None

    def __post_init__(self) -> None:
        self.client = stripe.StripeClient(
            self.api_key or settings.STRIPE_SECRET_KEY,
            base_addresses={"api": self.api_base or settings.STRIPE_API_BASE},
            max_network_retries=settings.PAYMENTS_STRIPE_MAX_RETRIES,
            http_client=self.http_client
            or stripe.RequestsClient(timeout=settings.PAYMENTS_STRIPE_TIMEOUT_SECONDS),
        )

    def _record(self, operation: str, params: dict[str, Any], key: str | None, obj: Any) -> None:
        response = getattr(obj, "last_response", None)
        headers = getattr(response, "headers", None) or {}
        echoed = headers.get("Idempotency-Key") or headers.get("idempotency-key")
        # Account links have no id of their own: recorded with "".
        self.calls.append(GatewayCall(operation, params, key, echoed, str(getattr(obj, "id", "") or "")))

    def _intent(self, obj: Any) -> IntentResult:
        return IntentResult(
            id=obj.id,
            status=obj.status,
            amount=int(obj.amount),
            currency=str(obj.currency),
            client_secret=obj.client_secret or "",
        )

    def create_intent(
        self,
        *,
        amount: int,
        currency: str,
        metadata: dict[str, str],
        idempotency_key: str,
        destination: Destination | None = None,
        off_session: OffSession | None = None,
    ) -> IntentResult:
        params: dict[str, Any] = {"amount": amount, "currency": currency, "metadata": metadata}
        if off_session is None:
            params["automatic_payment_methods"] = {"enabled": True}
        else:  # created and confirmed in one call; a card that needs the buyer fails with a 402
            params.update(customer=off_session.customer_id, payment_method=off_session.payment_method_id,
                          payment_method_types=["card"], off_session=True, confirm=True)  # fmt: skip
        if destination is not None:  # a destination charge: the merchant gets amount - fee
            params["transfer_data"] = {"destination": destination.account_id}
            params["application_fee_amount"] = destination.application_fee_amount
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
        self,
        *,
        payment_intent_id: str,
        amount: int,
        metadata: dict[str, str],
        idempotency_key: str,
        reverse_transfer: bool = False,
    ) -> RefundResult:
        params: dict[str, Any] = {"payment_intent": payment_intent_id, "amount": amount, "metadata": metadata}
        if reverse_transfer:
            # Of a destination charge: take the refunded share back from the merchant, and give back
            # the same share of the platform's fee (Stripe prorates both for a partial refund).
            params["reverse_transfer"] = True
            params["refund_application_fee"] = True
        try:
            obj = self.client.v1.refunds.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        self._record("refunds.create", params, idempotency_key, obj)
        return RefundResult(id=obj.id, status=str(obj.status), amount=int(obj.amount))

    def create_account(
        self, *, email: str, country: str, business_name: str, metadata: dict[str, str], idempotency_key: str
    ) -> AccountResult:
        params: dict[str, Any] = {
            "type": "express",
            "country": country,
            "email": email,
            "business_profile": {"name": business_name},
            "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
            "metadata": metadata,
        }
        try:
            obj = self.client.v1.accounts.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        self._record("accounts.create", params, idempotency_key, obj)
        return AccountResult(
            id=str(obj.id),
            charges_enabled=bool(obj.charges_enabled),
            payouts_enabled=bool(obj.payouts_enabled),
            details_submitted=bool(obj.details_submitted),
        )

    def create_account_link(
        self, *, account_id: str, refresh_url: str, return_url: str, idempotency_key: str
    ) -> AccountLinkResult:
        params: dict[str, Any] = {
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
        try:
            obj = self.client.v1.account_links.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        self._record("account_links.create", params, idempotency_key, obj)
        return AccountLinkResult(url=str(obj.url), expires_at=int(obj.expires_at))

    def retrieve_balance(self, *, account_id: str) -> BalanceResult:
        try:
            obj = self.client.v1.balance.retrieve(options={"stripe_account": account_id})
        except stripe.StripeError as exc:
            raise _translate(exc) from exc

        def amounts(rows: Any) -> list[BalanceAmount]:
            return [BalanceAmount(int(r.amount), str(r.currency)) for r in rows or []]

        return BalanceResult(available=amounts(obj.available), pending=amounts(obj.pending))

    def list_payouts(self, *, account_id: str, limit: int = 10) -> list[PayoutResult]:
        try:
            page = self.client.v1.payouts.list(
                params={"limit": limit}, options={"stripe_account": account_id}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return [
            PayoutResult(
                id=str(p.id),
                amount=int(p.amount),
                currency=str(p.currency),
                arrival_date=int(p.arrival_date),
                status=str(p.status),
            )
            for p in page.data
        ]

    def create_customer(self, *, email: str, metadata: dict[str, str], idempotency_key: str) -> str:
        params: dict[str, Any] = {"metadata": metadata}
        if email:
            params["email"] = email
        try:
            obj = self.client.v1.customers.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        self._record("customers.create", params, idempotency_key, obj)
        return str(obj.id)

    def setup_card(self, *, customer_id: str, payment_method: str, idempotency_key: str) -> SetupResult:
        """A SetupIntent confirmed at once: attaches the card to the customer for off-session use."""
        params: dict[str, Any] = {
            "customer": customer_id,
            "payment_method": payment_method,
            "payment_method_types": ["card"],
            "usage": "off_session",
            "confirm": True,
        }
        try:
            obj = self.client.v1.setup_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        self._record("setup_intents.create", params, idempotency_key, obj)
        method = obj.payment_method
        method_id = method if isinstance(method, str) else getattr(method, "id", None)
        return SetupResult(
            id=str(obj.id),
            status=str(obj.status),
            client_secret=obj.client_secret or "",
            payment_method_id=str(method_id or payment_method),
        )

    def retrieve_card(self, *, payment_method_id: str) -> CardResult:
        try:
            obj = self.client.v1.payment_methods.retrieve(payment_method_id)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        self._record("payment_methods.retrieve", {"id": payment_method_id}, None, obj)
        card = obj.card
        return CardResult(
            payment_method_id=str(obj.id),
            brand=str(getattr(card, "brand", "") or ""),
            last4=str(getattr(card, "last4", "") or ""),
            exp_month=getattr(card, "exp_month", None),
            exp_year=getattr(card, "exp_year", None),
            fingerprint=str(getattr(card, "fingerprint", "") or ""),
        )

    def detach_card(self, *, payment_method_id: str, idempotency_key: str) -> None:
        try:
            obj = self.client.v1.payment_methods.detach(
                payment_method_id, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        self._record("payment_methods.detach", {"id": payment_method_id}, idempotency_key, obj)


_default: StripeGateway | None = None


def get_gateway() -> StripeGateway:
    """The process-wide gateway (built on first use from settings)."""
    global _default
    if _default is None:
        _default = StripeApiGateway()
    return _default
