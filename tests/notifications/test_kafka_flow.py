"""Notifications through the real event path: outbox -> relay -> Kafka -> `notify` consumer -> Mailpit.

- a real purchase (reserve -> checkout -> PaymentIntent on stripe-mock -> signed webhook -> saga ->
  mint on anvil -> confirmer) yields the receipt and the minted e-mail with the order's and token's data;
  a real `shipment.shipped` event yields the shipped e-mail with the tracking link;
- Mailpit stopped while the consumer runs: nothing is lost, the mail goes out once it is back, once;
- the same event delivered three times through Kafka: one message.
"""

import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.utils import timezone
from eth_account import Account
from eth_utils import to_checksum_address
from rest_framework.test import APIClient

from commerce.models import Order, OrderStatus
from commerce.services import catalog, drops
from nft.chain import client as chain_client
from nft.keys import anvil_account
from notifications.models import EmailOptOut, EmailStatus, Notification, OutgoingEmail
from notifications.services.mailer import send_due
from realtime.kafka_config import producer_config
from realtime.outbox import emit
from tests.notifications.conftest import order_event
from tests.notifications.mailpit import MailpitApi, PrivateMailpit
from tests.payments.conftest import GuardedGateway
from tests.payments.helpers import outbox
from tests.payments.pipeline import pipeline
from tests.realtime.helpers import envelope, read_topic
from tests.tokens import issue_token

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SIGNER_INDEX = 6  # an anvil account no other suite signs with (payments uses 7)


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> GuardedGateway:
    gw = GuardedGateway()
    monkeypatch.setattr("commerce.payments.gateway._default", gw)
    return gw


@pytest.fixture
def nft_store(settings: Any, store: dict[str, Any], eager_celery: None) -> Iterator[dict[str, Any]]:
    """A collection deployed on anvil, a digital product of the store minting from it, a live drop."""
    from nft.services.collections import deploy_collection

    account = anvil_account(SIGNER_INDEX)
    settings.NFT_SIGNER_PRIVATE_KEY = "0x" + bytes(account.key).hex()
    settings.CHAIN_CONFIRMATIONS = 2
    settings.EXPLORER_TX_URL = "https://explorer.example/tx/{tx_hash}?chain={chain_id}"
    onchain = deploy_collection(
        name="Wearables", symbol="WEAR", royalty_receiver=account.address, royalty_bps=0
    )
    merchant = store["merchant"]
    collection = catalog.create_collection(
        merchant_id=merchant.pk,
        name="Wearables",
        chain_id=settings.CHAIN_ID,
        contract_address=onchain.address,
    )
    product = catalog.create_product(
        merchant_id=merchant.pk,
        kind="digital",
        title="Aurora jacket (wearable)",
        collection_id=collection.pk,
        metadata_template={"name": "Aurora #{serial}"},
        skus=[catalog.SkuSpec(code="AUR", price=1500, edition_size=100)],
    )
    drop = drops.create_drop(
        merchant_id=merchant.pk,
        title="Aurora drop",
        starts_at=timezone.now() + timedelta(hours=1),
        ends_at=None,
        per_buyer_limit=3,
        items=[drops.DropItemSpec(sku_id=product.skus.get().pk, quantity=10)],
    )
    drops.start_drop(drop_id=drop.pk)
    yield {"onchain": onchain, "drop": drop, "sku": product.skus.get()}


def test_real_purchase_sends_receipt_and_minted_then_shipped(
    nft_store: dict[str, Any], gateway: Any, kafka_prefix: str, make_person: Any, mailpit: MailpitApi
) -> None:
    from nft.models import Wallet
    from nft.services.confirmer import confirm_blocks

    buyer: User = make_person()
    wallet = to_checksum_address(Account.create().address)
    Wallet.objects.create(user=buyer, address=wallet, kind="linked")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(buyer)}")
    reserved = api.post(
        "/api/v1/reservations/",
        {"drop_id": nft_store["drop"].pk, "sku_id": nft_store["sku"].pk, "quantity": 1},
        format="json",
    )
    assert reserved.status_code == 201, reserved.content
    checkout = api.post("/api/v1/checkout/", {}, format="json")
    assert checkout.status_code == 201, checkout.content
    order_id = checkout.json()["id"]
    assert api.post(f"/api/v1/orders/{order_id}/pay/").status_code == 200
    confirmed = api.post(
        f"/api/v1/orders/{order_id}/pay/demo-confirm/", {"outcome": "succeeded"}, format="json"
    )
    assert confirmed.status_code == 202, confirmed.content

    chain = chain_client()

    def tick() -> None:
        confirm_blocks()
        chain.rpc("evm_mine", [])

    with pipeline("saga", "nft", "notify") as running:
        running.until(
            lambda: Order.objects.get(pk=order_id).status == OrderStatus.FULFILLED,
            what="order fulfilled",
            tick=tick,
            timeout=180,
        )
        running.until(
            lambda: OutgoingEmail.objects.filter(user=buyer, status=EmailStatus.SENT).count() >= 2,
            what="receipt and minted e-mails sent",
        )
        # The merchant ships (h4's shipments emit this; here the event goes through the outbox as they will).
        with transaction.atomic():
            emit(
                type="shipment.shipped",
                key=order_id,
                payload={
                    "shipment_id": 9001,
                    "merchant_id": nft_store["drop"].merchant_id,
                    "buyer_id": buyer.pk,
                    "order_id": order_id,
                    "redemption_id": None,
                    "line_ids": [],
                    "carrier": "dhl",
                    "tracking_number": "JD0146000062",
                    "tracking_url": "https://www.dhl.com/track?tracking-id=JD0146000062",
                },
            )
        running.until(
            lambda: OutgoingEmail.objects.filter(
                user=buyer, kind="shipped", status=EmailStatus.SENT
            ).exists(),
            what="shipped e-mail sent",
        )

    order = Order.objects.get(pk=order_id)
    (line,) = order.lines.all()
    (mint_event,) = outbox("nft.mint.confirmed", key=order_id)
    mint = mint_event.payload
    found = {m["Subject"]: m for m in mailpit.wait_for(buyer.email, count=3)}
    assert set(found) == {
        f"Your receipt for order #{order_id} at Maison Test",
        "Your NFT Aurora jacket (wearable) is minted",
        f"Order #{order_id} is on its way",
    }, found.keys()
    receipt = mailpit.message(found[f"Your receipt for order #{order_id} at Maison Test"]["ID"])
    assert f"Order #{order_id} (Aurora drop)" in receipt["Text"]
    assert "1 x Aurora jacket (wearable) @ USD 15.00 = USD 15.00" in receipt["Text"]
    assert "Total paid: USD 15.00" in receipt["Text"]
    assert receipt["From"] == {"Name": "Maison Test", "Address": "no-reply@mintdrop.local"}

    minted = mailpit.message(found["Your NFT Aurora jacket (wearable) is minted"]["ID"])
    assert line.token_id and f"Token:        #{line.token_id}" in minted["Text"]
    assert mint["token_id"] == line.token_id and mint["to_address"] == wallet
    assert f"Contract:     {nft_store['onchain'].address} (chain 31337)" in minted["Text"]
    assert f"Owner:        {wallet}" in minted["Text"]
    assert f"Transaction:  {mint['tx_hash']}" in minted["Text"]
    assert f"https://explorer.example/tx/{mint['tx_hash']}?chain=31337" in minted["HTML"]
    minted_headers = mailpit.headers(found["Your NFT Aurora jacket (wearable) is minted"]["ID"])
    assert minted_headers["List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]

    shipped = mailpit.message(found[f"Order #{order_id} is on its way"]["ID"])
    assert "Tracking number: JD0146000062" in shipped["Text"]
    assert "https://www.dhl.com/track?tracking-id=JD0146000062" in shipped["HTML"]
    assert "1 x Aurora jacket (wearable)" in shipped["Text"]

    # The in-app centre has the same three, unread.
    kinds = sorted(
        Notification.objects.filter(user=buyer, read_at__isnull=True).values_list("kind", flat=True)
    )
    assert kinds == ["minted", "receipt", "shipped"]
    # One message per (event, recipient): nothing else went to the buyer.
    assert OutgoingEmail.objects.filter(user=buyer).count() == 3


def test_mailpit_down_mid_run_then_back_and_triple_delivery_send_exactly_once(
    placed_order: Any, kafka_prefix: str, tmp_path: Path, settings: Any, eager_celery: None
) -> None:
    server = PrivateMailpit(tmp_path).start()
    settings.EMAIL_PORT = server.smtp_port
    settings.NOTIFY_RETRY_BASE_SECONDS = 0.2
    order = placed_order()
    try:
        with pipeline("notify") as running:
            server.stop()  # mid-run: the consumer is up, the mail server is not
            with transaction.atomic():
                emitted = emit(
                    type="order.paid", key=order.pk, payload=order_event("order.paid", order).payload
                )
            running.until(
                # attempts counts at claim time; the error is written once the SMTP connect failed
                lambda: (
                    OutgoingEmail.objects.filter(event_id=emitted.id, attempts__gte=1)
                    .exclude(last_error="")
                    .exists()
                ),
                what="a first (failed) attempt",
            )
            row = OutgoingEmail.objects.get(event_id=emitted.id)
            assert row.status == EmailStatus.PENDING and row.last_error
            # The same event delivered twice more through Kafka while the server is down.
            (published,) = [m for m in read_topic("orders") if envelope(m)["id"] == str(emitted.id)]
            producer = Producer(producer_config())
            for _ in range(2):
                producer.produce(
                    published.topic() or "",
                    value=published.value(),
                    key=published.key(),
                    headers=published.headers(),
                )
            producer.flush(10)
            running.until(
                lambda: running.consumers[0].runner.stats.duplicates >= 2, what="both duplicates seen"
            )
            server.start()
            deadline = time.monotonic() + 60
            while OutgoingEmail.objects.filter(pk=row.pk, status=EmailStatus.PENDING).exists():
                send_due()  # what the beat sweep does every NOTIFY_SWEEP_SECONDS
                assert time.monotonic() < deadline, "never sent"
                time.sleep(0.1)
        for _ in range(3):
            send_due()
        found = server.api.wait_for(order.buyer.email)
        assert len(found) == 1, found
        assert found[0]["MessageID"] == row.message_id.strip("<>")
        assert OutgoingEmail.objects.filter(user=order.buyer).count() == 1
        assert Notification.objects.filter(user=order.buyer).count() == 1
    finally:
        server.stop()


def test_opted_out_category_sends_nothing_but_the_receipt_goes_and_unsubscribe_works_without_login(
    placed_order: Any, kafka_prefix: str, mailpit: MailpitApi, eager_celery: None, make_person: Any
) -> None:
    buyer = make_person()
    EmailOptOut.objects.create(user=buyer, category="shipping")
    EmailOptOut.objects.create(user=buyer, category="receipts")  # transactional: ignored
    order = placed_order(buyer=buyer)
    shipped_payload = {
        "shipment_id": 77,
        "merchant_id": order.merchant_id,
        "buyer_id": buyer.pk,
        "order_id": order.pk,
        "redemption_id": None,
        "line_ids": [],
        "carrier": "ups",
        "tracking_number": "1Z999",
        "tracking_url": "",
    }
    with pipeline("notify") as running:
        with transaction.atomic():
            emit(type="order.paid", key=order.pk, payload=order_event("order.paid", order).payload)
            emit(type="shipment.shipped", key=order.pk, payload=shipped_payload)
        running.until(lambda: Notification.objects.filter(user=buyer).count() == 2, what="both handled")
        found = mailpit.wait_for(buyer.email)
    assert [m["Subject"] for m in found] == [f"Your receipt for order #{order.pk} at Maison Test"]
    assert not OutgoingEmail.objects.filter(user=buyer, kind="shipped").exists()

    # A delivered notice (shipping) would carry the unsubscribe link; take it from a non-transactional mail.
    other = make_person()
    order2 = placed_order(buyer=other)
    with pipeline("notify") as running:
        with transaction.atomic():
            emit(
                type="shipment.delivered",
                key=order2.pk,
                payload={
                    k: v
                    for k, v in {**shipped_payload, "buyer_id": other.pk, "order_id": order2.pk}.items()
                    if k not in ("carrier", "tracking_number", "tracking_url")
                },
            )
        running.until(
            lambda: OutgoingEmail.objects.filter(user=other, status=EmailStatus.SENT).exists(),
            what="delivered sent",
        )
    (delivered,) = mailpit.wait_for(other.email)
    headers = mailpit.headers(delivered["ID"])
    (link,) = re.findall(r"<(http[^>]+)>", headers["List-Unsubscribe"][0])
    path = link.split("://", 1)[1].split("/", 1)[1]
    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get("/" + path)
    assert page.status_code == 200 and b"Shipping updates" in page.content
    assert not EmailOptOut.objects.filter(user=other).exists()  # a GET (link scanner) changes nothing
    done = anonymous.post("/" + path, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and b"no longer get e-mails" in done.content
    assert list(EmailOptOut.objects.filter(user=other).values_list("category", flat=True)) == ["shipping"]
    assert "Unsubscribe" in mailpit.message(delivered["ID"])["Text"]
    _ = (uuid, urllib.request)
