"""Fixtures for live-show tests: a merchant with products, a rival merchant, a live show, users."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from commerce.services import catalog
from commerce.shows.models import Show
from commerce.shows.services import lifecycle
from tests.frontend.conftest import browser, screenshots, stack, webgl_browser  # noqa: F401 - fixtures of the browser test
from tests.tokens import issue_token
from tests.ws.conftest import fast_paths, kafka_prefix, procs  # noqa: F401 - fixtures of the socket tests

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.fixture(autouse=True)
def redis_namespace(settings: Any) -> None:
    """Rate-limit counters, presence and stream heads of this test only (show ids repeat across tests)."""
    if not settings.KAFKA_TOPIC_PREFIX.count(".show-"):
        settings.KAFKA_TOPIC_PREFIX = f"{settings.KAFKA_TOPIC_PREFIX}show-{uuid.uuid4().hex[:6]}."


@pytest.fixture
def make_user() -> Callable[..., User]:
    def make(name: str = "viewer") -> User:
        user = User.objects.create_user(username=f"{name}-{uuid.uuid4().hex[:6]}", password="pw-12345678")
        return user

    return make


def api(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    return client


@pytest.fixture
def shop(make_user: Callable[..., User]) -> dict[str, Any]:
    """Merchant with owner, a digital wearable (3D asset), a physical tee; a rival merchant's product."""
    owner = make_user("host")
    merchant = catalog.create_merchant(name="Shop", slug=f"shop-{uuid.uuid4().hex[:6]}", owner=owner)
    collection = catalog.create_collection(
        merchant_id=merchant.pk, name="Wearables", chain_id=31337, contract_address=CONTRACT
    )
    wearable = catalog.create_product(
        merchant_id=merchant.pk,
        kind="digital",
        title="Neon jacket",
        collection_id=collection.pk,
        metadata_template={
            "name": "Neon jacket #{serial}",
            "animation_url": "https://example.test/jacket.glb",
        },
        skus=[catalog.SkuSpec(code="JKT", price=1500, edition_size=1000)],
    )
    tee = catalog.create_product(
        merchant_id=merchant.pk, kind="physical", title="Tee", skus=[catalog.SkuSpec(code="TEE", price=2500)]
    )
    rival_owner = make_user("rival")
    rival = catalog.create_merchant(name="Rival", slug=f"rival-{uuid.uuid4().hex[:6]}", owner=rival_owner)
    rival_product = catalog.create_product(
        merchant_id=rival.pk,
        kind="physical",
        title="Rival mug",
        skus=[catalog.SkuSpec(code="MUG", price=900)],
    )
    return {
        "owner": owner,
        "merchant": merchant,
        "wearable": wearable,
        "tee": tee,
        "rival": rival,
        "rival_owner": rival_owner,
        "rival_product": rival_product,
    }


@pytest.fixture
def live_show(shop: dict[str, Any]) -> Show:
    show = lifecycle.create_show(
        merchant_id=shop["merchant"].pk,
        title="Friday live",
        playback_url="/media/shows/demo-show/index.m3u8",
        scheduled_at=timezone.now(),
    )
    return lifecycle.go_live(show_id=show.pk, merchant_id=shop["merchant"].pk)
