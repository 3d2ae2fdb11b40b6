"""Happy path on the real services: reserve -> checkout -> PaymentIntent on stripe-mock -> signed webhook
-> saga (Kafka) -> order paid -> nft.mint.requested -> the real nft consumer mints on anvil -> confirmer ->
nft.mint.confirmed -> saga -> order.fulfilled."""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from eth_account import Account
from eth_utils import to_checksum_address
from rest_framework.test import APIClient

from commerce.models import Order, OrderStatus
from commerce.payments.models import SagaStep, StripeEvent
from commerce.services import catalog, drops
from nft import contracts
from nft.chain import client as chain_client
from nft.keys import anvil_account
from tests.payments.helpers import outbox
from tests.payments.pipeline import pipeline
from tests.tokens import issue_token

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SIGNER_INDEX = 7  # an anvil account no other test suite signs with


@pytest.fixture
def nft_shop(settings: Any) -> Iterator[dict[str, Any]]:
    """A collection deployed on anvil by our signer, the same contract in the commerce catalog, a live drop."""
    from config.celery import app
    from nft.services.collections import deploy_collection

    account = anvil_account(SIGNER_INDEX)
    settings.NFT_SIGNER_PRIVATE_KEY = "0x" + bytes(account.key).hex()
    settings.CHAIN_CONFIRMATIONS = 2
    onchain = deploy_collection(
        name="Wearables", symbol="WEAR", royalty_receiver=account.address, royalty_bps=0
    )
    owner = User.objects.create_user(username=f"owner-{uuid.uuid4().hex[:6]}", password="pw-12345678")
    merchant = catalog.create_merchant(name="Shop", slug=f"shop-{uuid.uuid4().hex[:6]}", owner=owner)
    collection = catalog.create_collection(
        merchant_id=merchant.pk,
        name="Wearables",
        chain_id=settings.CHAIN_ID,
        contract_address=onchain.address,
    )
    product = catalog.create_product(
        merchant_id=merchant.pk,
        kind="digital",
        title="Jacket (wearable)",
        collection_id=collection.pk,
        metadata_template={"name": "Jacket #{serial}"},
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
    yield {"onchain": onchain, "drop": drop, "sku": product.skus.get()}
    app.conf.task_always_eager = eager


def test_reserve_checkout_pay_webhook_mint_fulfil(
    nft_shop: dict[str, Any], gateway: Any, kafka_prefix: str
) -> None:
    from nft.models import Wallet
    from nft.services.confirmer import confirm_blocks

    buyer = User.objects.create_user(username=f"buyer-{uuid.uuid4().hex[:6]}", password="pw-12345678")
    wallet = to_checksum_address(Account.create().address)
    Wallet.objects.create(user=buyer, address=wallet, kind="linked")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(buyer)}")

    reserved = api.post(
        "/api/v1/reservations/",
        {"drop_id": nft_shop["drop"].pk, "sku_id": nft_shop["sku"].pk, "quantity": 2},
        format="json",
    )
    assert reserved.status_code == 201, reserved.content
    checkout = api.post("/api/v1/checkout/", {}, format="json")
    assert checkout.status_code == 201, checkout.content
    order_id = checkout.json()["id"]
    pay = api.post(f"/api/v1/orders/{order_id}/pay/")
    assert pay.status_code == 200 and pay.json()["amount"] == 3000
    (create,) = gateway.ops("payment_intents.create")
    assert create.echoed_idempotency_key == create.idempotency_key  # stripe-mock received our key

    # The buyer confirms (here: the demo endpoint confirms on stripe-mock, then delivers the signed webhook).
    confirmed = api.post(
        f"/api/v1/orders/{order_id}/pay/demo-confirm/", {"outcome": "succeeded"}, format="json"
    )
    assert confirmed.status_code == 202 and confirmed.json()["webhook"] == "accepted"
    assert gateway.ops("payment_intents.confirm")[0].params["payment_method"] == "pm_card_visa"
    assert StripeEvent.objects.get(order_id=order_id).type == "payment_intent.succeeded"

    chain = chain_client()

    def tick() -> None:
        confirm_blocks()
        chain.rpc("evm_mine", [])

    with pipeline("saga", "nft") as running:
        running.until(lambda: len(outbox("nft.mint.requested", key=order_id)) == 2, what="mint commands")
        running.until(
            lambda: Order.objects.get(pk=order_id).status == OrderStatus.FULFILLED,
            what="order fulfilled",
            tick=tick,
            timeout=180,
        )

    order = Order.objects.get(pk=order_id)
    for line in order.lines.all():
        owner = contracts.decode_one(
            "address", chain.call(nft_shop["onchain"].address, contracts.owner_of_call(int(line.token_id)))
        )
        assert to_checksum_address(owner) == wallet
    assert len(outbox("order.paid", key=order_id)) == 1 and len(outbox("order.fulfilled", key=order_id)) == 1
    assert len(outbox("nft.mint.confirmed", key=order_id)) == 2
    steps = [(s.step, s.outcome) for s in SagaStep.objects.filter(order_id=order_id)]
    assert steps[:3] == [
        ("payment_intent.create", "requested"),
        ("payment_intent.created", "applied"),
        ("payment.succeeded", "applied"),
    ]
    assert steps.count(("nft.mint.requested", "requested")) == 2
    assert steps.count(("nft.mint.confirmed", "applied")) == 2
    assert order.saga.state == "fulfilled"
