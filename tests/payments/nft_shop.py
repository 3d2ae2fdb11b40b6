"""A merchant whose own collection is deployed on anvil (royalties to its payout address), and a buyer
who buys one token through the real path (API -> stripe-mock -> signed webhook -> saga -> nft)."""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from commerce.services import catalog, drops
from commerce.services.collections import deploy_merchant_collection, set_payout_address
from nft.keys import anvil_account
from tests.tokens import issue_token

SIGNER_INDEX = 8  # an anvil account no other test suite signs with
PAYOUT_INDEX = 9


@pytest.fixture
def merchant_nft_shop(settings: Any) -> Iterator[dict[str, Any]]:
    from config.celery import app
    from nft.models import Collection

    signer = anvil_account(SIGNER_INDEX)
    settings.NFT_SIGNER_PRIVATE_KEY = "0x" + bytes(signer.key).hex()
    settings.CHAIN_CONFIRMATIONS = 2
    owner = User.objects.create_user(username=f"owner-{uuid.uuid4().hex[:6]}", password="pw-12345678")
    merchant = catalog.create_merchant(name="Shop", slug=f"shop-{uuid.uuid4().hex[:6]}", owner=owner)
    payout = anvil_account(PAYOUT_INDEX).address
    set_payout_address(merchant_id=merchant.pk, address=payout.lower(), royalty_bps=750)
    collection = deploy_merchant_collection(merchant_id=merchant.pk, name="Wearables", symbol="WEAR")
    product = catalog.create_product(
        merchant_id=merchant.pk,
        kind="digital",
        title="Jacket (wearable)",
        description="A jacket for your avatar.",
        media_urls=["https://cdn.example.test/jacket.png", "https://cdn.example.test/jacket.glb"],
        collection_id=collection.pk,
        metadata_template={
            "name": "Jacket #{serial}",
            "attributes": [
                {"trait_type": "Slot", "value": "torso"},
                {"trait_type": "Token", "value": "{token_id}"},
            ],
        },
        skus=[catalog.SkuSpec(code="JKT", price=1500, edition_size=100)],
    )
    drop = drops.create_drop(
        merchant_id=merchant.pk,
        title="Jacket drop",
        starts_at=timezone.now() + timedelta(hours=1),
        ends_at=None,
        per_buyer_limit=3,
        items=[drops.DropItemSpec(sku_id=product.skus.get().pk, quantity=10)],
    )
    drops.start_drop(drop_id=drop.pk)
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # nft's send_mint runs in the consumer thread
    yield {
        "merchant": merchant,
        "payout": payout,
        "onchain": Collection.objects.get(address=collection.contract_address),
        "drop": drop,
        "sku": product.skus.get(),
    }
    app.conf.task_always_eager = eager


def buy_one(shop: dict[str, Any], wallet: str) -> int:
    """A buyer with a linked `wallet` reserves, checks out and pays one token; returns the order id."""
    from nft.models import Wallet

    buyer = User.objects.create_user(username=f"buyer-{uuid.uuid4().hex[:6]}", password="pw-12345678")
    Wallet.objects.create(user=buyer, address=wallet, kind="linked")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(buyer)}")
    body = {"drop_id": shop["drop"].pk, "sku_id": shop["sku"].pk, "quantity": 1}
    assert api.post("/api/v1/reservations/", body, format="json").status_code == 201
    checkout = api.post("/api/v1/checkout/", {}, format="json")
    assert checkout.status_code == 201, checkout.content
    order_id = int(checkout.json()["id"])
    assert api.post(f"/api/v1/orders/{order_id}/pay/").status_code == 200
    confirmed = api.post(
        f"/api/v1/orders/{order_id}/pay/demo-confirm/", {"outcome": "succeeded"}, format="json"
    )
    assert confirmed.status_code == 202, confirmed.content
    return order_id
