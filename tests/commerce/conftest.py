"""Fixtures for commerce tests: users, a merchant with a catalog, drops in any state, API clients."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from commerce.addresses import parse_shipping_address
from commerce.models import Drop, DropItem, Sku
from commerce.services import catalog, drops

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
# Orders with something to ship need an address at checkout.
SHIP_TO_DATA = {
    "name": "Test Buyer",
    "line1": "1 Test Street",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}
SHIP_TO = parse_shipping_address(SHIP_TO_DATA)


@pytest.fixture
def make_user() -> Callable[..., User]:
    counter = iter(range(1, 1_000_000))

    def make(username: str | None = None) -> User:
        # These users authenticate with API tokens (client_for), never a password: no password hash,
        # whose 1M PBKDF2 rounds made the 200-buyer race spend minutes creating its buyers.
        return User.objects.create_user(username=username or f"user{next(counter)}", password=None)

    return make


def client_for(user: User | None) -> APIClient:
    """An API client using token auth, as real API clients do."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def shop(make_user: Callable[..., User]) -> dict[str, Any]:
    """A merchant with an owner, a collection and one product of each kind."""
    owner = make_user("owner")
    merchant = catalog.create_merchant(name="Shop", slug="shop", owner=owner)
    collection = catalog.create_collection(
        merchant_id=merchant.pk, name="Certs", chain_id=31337, contract_address=CONTRACT
    )
    tee = catalog.create_product(
        merchant_id=merchant.pk,
        kind="physical",
        title="Tee",
        skus=[catalog.SkuSpec(code="TEE-M", price=2500)],
    )
    wearable = catalog.create_product(
        merchant_id=merchant.pk,
        kind="digital",
        title="Jacket (wearable)",
        collection_id=collection.pk,
        metadata_template={"name": "Jacket #{serial}", "animation_url": "https://example.test/jacket.glb"},
        skus=[catalog.SkuSpec(code="JKT", price=1500, edition_size=1000)],
    )
    sneaker = catalog.create_product(
        merchant_id=merchant.pk,
        kind="phygital",
        title="Sneaker + certificate",
        collection_id=collection.pk,
        skus=[catalog.SkuSpec(code="SNK-42", price=9900, edition_size=1000)],
    )
    return {
        "owner": owner,
        "merchant": merchant,
        "collection": collection,
        "tee": tee.skus.get(),
        "wearable": wearable.skus.get(),
        "sneaker": sneaker.skus.get(),
    }


@pytest.fixture
def make_drop(shop: dict[str, Any]) -> Callable[..., Drop]:
    """A drop of the shop's SKUs; `live=True` starts it now."""

    def make(
        *, offered: int = 10, limit: int = 2, live: bool = True, skus: list[Sku] | None = None, **kw: Any
    ) -> Drop:
        skus = skus or [shop["tee"]]
        drop = drops.create_drop(
            merchant_id=shop["merchant"].pk,
            title=kw.pop("title", "Drop"),
            starts_at=kw.pop("starts_at", timezone.now() + timedelta(hours=1)),
            ends_at=kw.pop("ends_at", None),
            per_buyer_limit=limit,
            items=[drops.DropItemSpec(sku_id=s.pk, quantity=offered) for s in skus],
        )
        if live:
            drops.start_drop(drop_id=drop.pk)
        drop.refresh_from_db()
        return drop

    return make


def counters(drop: Drop, sku: Sku) -> tuple[int, int, int]:
    """The item's stock (offered, reserved, sold): its own row plus its shards if it was split."""
    item = DropItem.objects.get(drop=drop, sku=sku)
    return item.stock_offered, item.stock_reserved, item.stock_sold
