"""Fixtures for notifications: buyers with confirmed addresses, a shop, eager Celery, Mailpit."""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from commerce.models import MerchantMembership
from commerce.services import catalog
from notifications.models import VerifiedEmail
from tests.notifications.mailpit import MailpitApi, unique_address
from tests.payments.conftest import kafka_prefix  # noqa: F401  (fixture re-exported)


@pytest.fixture(autouse=True)
def real_smtp(settings: Any) -> None:
    """Django's test set-up swaps in the in-memory backend: these tests talk SMTP to Mailpit."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@pytest.fixture
def mailpit() -> MailpitApi:
    return MailpitApi()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """`send_soon()` runs the send task inline after commit (no worker in unit-level tests)."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def make_person() -> Callable[..., User]:
    """A user with a unique, confirmed address (or `verified=False`)."""

    def make(*, verified: bool = True, tag: str = "buyer") -> User:
        user = User.objects.create_user(
            username=f"{tag}-{uuid.uuid4().hex[:8]}", email=unique_address(tag), password="pw-12345678"
        )
        if verified:
            VerifiedEmail.objects.create(user=user, email=user.email, verified_at=timezone.now())
        return user

    return make


@pytest.fixture
def store(make_person: Callable[..., User]) -> dict[str, Any]:
    owner = make_person(tag="owner")
    merchant = catalog.create_merchant(name="Maison Test", slug=f"maison-{uuid.uuid4().hex[:6]}", owner=owner)
    return {
        "merchant": merchant,
        "owner": owner,
        "staff": [m.user for m in MerchantMembership.objects.filter(merchant=merchant)],
    }


@pytest.fixture
def placed_order(store: dict[str, Any], make_person: Callable[..., User]) -> Callable[..., Any]:
    """An order of `buyer` (default: a new confirmed buyer) for 2 tees in a live drop of the store."""
    from datetime import timedelta

    from commerce.services import drops
    from commerce.services.orders import place_order
    from commerce.services.reservations import reserve_stock
    from tests.commerce.conftest import SHIP_TO

    def make(*, buyer: User | None = None, title: str = "Tee", price: int = 2500, quantity: int = 2) -> Any:
        who = buyer or make_person()
        product = catalog.create_product(
            merchant_id=store["merchant"].pk,
            kind="physical",
            title=title,
            skus=[catalog.SkuSpec(code=f"T{uuid.uuid4().hex[:5]}", price=price)],
        )
        sku = product.skus.get()
        drop = drops.create_drop(
            merchant_id=store["merchant"].pk,
            title="Autumn drop",
            starts_at=timezone.now() + timedelta(hours=1),
            ends_at=None,
            per_buyer_limit=5,
            items=[drops.DropItemSpec(sku_id=sku.pk, quantity=10)],
        )
        drops.start_drop(drop_id=drop.pk)
        reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=who.pk, quantity=quantity)
        return place_order(buyer_id=who.pk, shipping_address=SHIP_TO)  # physical: it ships

    return make


def order_event(event_type: str, order: Any, **extra: Any) -> Any:
    """An `order.*` event of `order` as the saga emits it (payload per the schema)."""
    from realtime.contracts import validate_payload
    from realtime.events import Event

    payload = {
        "order_id": order.pk,
        "buyer_id": order.buyer_id,
        "merchant_id": order.merchant_id,
        "drop_id": order.drop_id,
        "status": extra.pop("status", "paid"),
        "previous_status": "pending_payment",
        "total": order.total,
        "currency": order.currency,
        **extra,
    }
    validate_payload(event_type, 1, payload)
    return Event(type=event_type, key=str(order.pk), payload=payload)
