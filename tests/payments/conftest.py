"""Fixtures for payments: a shop with one product of each kind, buyers with wallets, placed orders,
a recording gateway over the real stripe-mock, and a private Kafka namespace per test."""

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from commerce.addresses import parse_shipping_address
from commerce.models import Drop, Order, Sku
from commerce.payments.gateway import CardResult, IntentResult, RefundResult, SetupResult, StripeApiGateway
from commerce.services import catalog, drops
from commerce.services.orders import place_order
from commerce.services.reservations import reserve_stock
from realtime.kafka_config import admin_config
from realtime.topic_admin import ensure_topics
from realtime.topics import TOPICS

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SHIP_TO = parse_shipping_address(
    {
        "name": "Test Buyer",
        "line1": "1 Test Street",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE",
    }
)
BUYER_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


class GuardedGateway(StripeApiGateway):
    """The real stripe-mock gateway that also proves no call happens inside a database transaction.

    `status_override` replaces the PaymentIntent status stripe-mock answers (it is stateless and
    always says requires_payment_method) — the HTTP call itself is still made and recorded.
    """

    status_override: dict[str, str]
    in_transaction_calls: int

    def __post_init__(self) -> None:
        super().__post_init__()
        self.status_override = {}
        self.in_transaction_calls = 0

    def _guard(self) -> None:
        if connection.in_atomic_block:
            self.in_transaction_calls += 1

    def create_intent(self, **kw: Any) -> IntentResult:
        self._guard()
        return super().create_intent(**kw)

    def retrieve_intent(self, *, payment_intent_id: str) -> IntentResult:
        self._guard()
        result = super().retrieve_intent(payment_intent_id=payment_intent_id)
        status = self.status_override.get(payment_intent_id)
        return IntentResult(result.id, status, result.amount, result.currency) if status else result

    def cancel_intent(self, **kw: Any) -> IntentResult:
        self._guard()
        return super().cancel_intent(**kw)

    def confirm_intent(self, **kw: Any) -> IntentResult:
        self._guard()
        return super().confirm_intent(**kw)

    def create_refund(self, **kw: Any) -> RefundResult:
        self._guard()
        return super().create_refund(**kw)

    def create_customer(self, **kw: Any) -> str:
        self._guard()
        return super().create_customer(**kw)

    def setup_card(self, **kw: Any) -> SetupResult:
        self._guard()
        return super().setup_card(**kw)

    def retrieve_card(self, **kw: Any) -> CardResult:
        self._guard()
        return super().retrieve_card(**kw)

    def detach_card(self, **kw: Any) -> None:
        self._guard()
        super().detach_card(**kw)

    def ops(self, operation: str) -> list[Any]:
        return [c for c in self.calls if c.operation == operation]


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> GuardedGateway:
    """A recording gateway over the real stripe-mock, installed as the process-wide one."""
    gw = GuardedGateway()
    monkeypatch.setattr("commerce.payments.gateway._default", gw)
    return gw


@pytest.fixture
def make_user() -> Callable[..., User]:
    def make(username: str | None = None) -> User:
        return User.objects.create_user(
            username=username or f"u{uuid.uuid4().hex[:8]}", password="pw-12345678"
        )

    return make


@pytest.fixture
def shop(make_user: Callable[..., User]) -> dict[str, Any]:
    owner = make_user()
    merchant = catalog.create_merchant(name="Shop", slug=f"shop-{uuid.uuid4().hex[:6]}", owner=owner)
    collection = catalog.create_collection(
        merchant_id=merchant.pk, name="Certs", chain_id=31337, contract_address=CONTRACT
    )
    tee = catalog.create_product(
        merchant_id=merchant.pk, kind="physical", title="Tee", skus=[catalog.SkuSpec(code="TEE", price=2500)]
    )
    jacket = catalog.create_product(
        merchant_id=merchant.pk,
        kind="digital",
        title="Jacket (wearable)",
        collection_id=collection.pk,
        skus=[catalog.SkuSpec(code="JKT", price=1500, edition_size=1000)],
    )
    return {
        "merchant": merchant,
        "collection": collection,
        "tee": tee.skus.get(),
        "jacket": jacket.skus.get(),
    }


@pytest.fixture
def make_drop(shop: dict[str, Any]) -> Callable[..., Drop]:
    def make(*, skus: list[Sku], offered: int = 10, limit: int = 5) -> Drop:
        drop = drops.create_drop(
            merchant_id=shop["merchant"].pk,
            title="Drop",
            starts_at=timezone.now() + timedelta(hours=1),
            ends_at=None,
            per_buyer_limit=limit,
            items=[drops.DropItemSpec(sku_id=s.pk, quantity=offered) for s in skus],
        )
        drops.start_drop(drop_id=drop.pk)
        drop.refresh_from_db()
        return drop

    return make


@pytest.fixture
def buyer(make_user: Callable[..., User]) -> User:
    """A buyer with a linked wallet, so NFT lines have somewhere to go."""
    from nft.models import Wallet

    user = make_user()
    Wallet.objects.create(user=user, address=_address(user.pk), kind="linked")
    return user


def _address(n: int) -> str:
    return "0x" + f"{n:040x}"[-40:].replace("0", "a", 1)


@pytest.fixture
def make_order(make_drop: Callable[..., Drop], shop: dict[str, Any], buyer: User) -> Callable[..., Order]:
    """Reserve `lines` [(sku_name, quantity)] in one live drop for `buyer` and check them out."""

    def make(
        lines: list[tuple[str, int]] | None = None, *, user: User | None = None, offered: int = 10
    ) -> Order:
        lines = lines or [("jacket", 1)]
        drop = make_drop(skus=[shop[name] for name, _ in lines], offered=offered)
        who = user or buyer
        for name, quantity in lines:
            reserve_stock(drop_id=drop.pk, sku_id=shop[name].pk, buyer_id=who.pk, quantity=quantity)
        return place_order(buyer_id=who.pk, shipping_address=SHIP_TO)

    return make


@pytest.fixture
def kafka_prefix(settings: Any) -> Iterator[str]:
    """A topic/group prefix of this test only (topics created now, deleted after)."""
    prefix = f"{os.environ['KAFKA_TOPIC_PREFIX']}{uuid.uuid4().hex[:6]}."
    settings.KAFKA_TOPIC_PREFIX = prefix
    ensure_topics()
    yield prefix
    AdminClient(admin_config()).delete_topics([f"{prefix}{t.name}" for t in TOPICS], operation_timeout=10)


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refund ids handed to the Celery worker (recorded instead of sent to the broker)."""
    sent: list[str] = []
    monkeypatch.setattr("commerce.payments.services.refunds._enqueue", sent.append)
    return sent


from tests.payments.nft_shop import merchant_nft_shop  # noqa: E402, F401  (a fixture shared by test modules)
