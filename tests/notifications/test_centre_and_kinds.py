"""The in-app centre and its badge socket (real Redis channel layer), and the merchant / wallet / claim
notifications each written from a schema-valid event (one message per recipient, the warning kind)."""

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from commerce.services import catalog
from config.asgi import application
from notifications import handlers
from notifications.models import Notification, OutgoingEmail
from realtime.contracts import validate_payload
from realtime.events import Event
from tests.notifications.mailpit import MailpitApi
from tests.tokens import ws_ticket

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://127.0.0.1")
WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
OPERATOR = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def event(event_type: str, key: str, payload: dict[str, Any]) -> Event:
    validate_payload(event_type, 1, payload)
    return Event(type=event_type, key=key, payload=payload)


def handle(handler: Any, ev: Event) -> None:
    with transaction.atomic():
        handler(ev)


def wallet_payload(user_id: int, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "activity_id": 1,
        "chain_id": 31337,
        "wallet_address": WALLET,
        "user_id": user_id,
        "kind": kind,
        "contract": CONTRACT,
        "token_standard": "erc721",
        "token_id": "7" if kind.startswith("transfer") else None,
        "amount": None,
        "counterparty": OPERATOR,
        "ours": True,
        "tx_hash": "0x" + "ab" * 32,
        "log_index": extra.pop("log_index", 0),
        "block_number": 120,
        **extra,
    }


def test_badge_socket_counts_unread_live_and_mark_read_updates_it(make_person: Any) -> None:
    user = make_person()
    other = make_person()
    key = ws_ticket(user)

    def record(n: int) -> None:
        handle(
            handlers.on_wallet_activity,
            event(
                "wallet.activity_recorded",
                WALLET.lower(),
                wallet_payload(user.pk, "transfer_in", log_index=n),
            ),
        )

    async def scenario() -> list[dict[str, Any]]:
        comm = WebsocketCommunicator(application, f"/ws/notifications/?ticket={key}", headers=[ORIGIN])
        connected, _ = await comm.connect(timeout=10)
        assert connected
        frames = [await comm.receive_json_from(timeout=10)]
        await sync_to_async(record)(1)
        frames.append(await comm.receive_json_from(timeout=10))
        await sync_to_async(record)(2)
        frames.append(await comm.receive_json_from(timeout=10))
        note = await sync_to_async(lambda: Notification.objects.filter(user=user).order_by("pk")[0])()
        client = Client()
        await sync_to_async(client.force_login)(user)
        await sync_to_async(client.post)(f"/notifications/{note.pk}/read/")
        frames.append(await comm.receive_json_from(timeout=10))
        await sync_to_async(client.post)("/notifications/read-all/")
        frames.append(await comm.receive_json_from(timeout=10))
        await comm.disconnect()
        # close the helper thread's session, before the test database is dropped
        await sync_to_async(lambda: connection.close())()
        return frames

    frames = asyncio.run(scenario())
    assert [f["unread"] for f in frames] == [0, 1, 2, 1, 0]
    assert frames[1]["latest"]["title"] == "Your wallet received token #7 of our collection"
    # someone else's notification cannot be marked read
    mine = Notification.objects.filter(user=user)[0]
    c = Client()
    c.force_login(other)
    denied = c.post(f"/notifications/{mine.pk}/read/", headers={"Accept": "application/json"})
    assert denied.status_code == 404 and denied.json()["error"]["code"] == "not_found"


def test_anonymous_socket_is_closed_4401() -> None:
    async def scenario() -> dict[str, Any]:
        comm = WebsocketCommunicator(application, "/ws/notifications/", headers=[ORIGIN])
        connected, code = await comm.connect(timeout=10)
        return {"connected": connected, "code": code}

    result = asyncio.run(scenario())
    assert result == {"connected": False, "code": 4401}


def test_centre_page_and_header_badge(make_person: Any) -> None:
    user = make_person()
    handle(
        handlers.on_wallet_activity,
        event(
            "wallet.activity_recorded",
            WALLET.lower(),
            wallet_payload(user.pk, "approval_for_all", operator_known=False),
        ),
    )
    client = Client()
    client.force_login(user)
    page = client.get("/notifications/")
    assert page.status_code == 200
    assert b"warning" in page.content and b"unknown operator" in page.content
    assert b'id="notif-badge" class="badge live" data-unread="1"' in page.content


def test_wallet_activity_transfers_and_a_warning_only_for_an_unknown_operator(
    make_person: Any, mailpit: MailpitApi, eager_celery: None
) -> None:
    user = make_person()
    handle(
        handlers.on_wallet_activity,
        event(
            "wallet.activity_recorded",
            WALLET.lower(),
            wallet_payload(user.pk, "approval_for_all", operator_known=True, log_index=1),
        ),
    )
    handle(
        handlers.on_wallet_activity,
        event(
            "wallet.activity_recorded",
            WALLET.lower(),
            wallet_payload(user.pk, "approval_revoked", log_index=2),
        ),
    )
    assert not Notification.objects.filter(user=user).exists()
    warn = event(
        "wallet.activity_recorded",
        WALLET.lower(),
        wallet_payload(user.pk, "approval_for_all", operator_known=False, log_index=3),
    )
    handle(handlers.on_wallet_activity, warn)
    handle(handlers.on_wallet_activity, warn)
    handle(
        handlers.on_wallet_activity,
        event(
            "wallet.activity_recorded", WALLET.lower(), wallet_payload(user.pk, "transfer_out", log_index=4)
        ),
    )
    found = {m["Subject"]: m for m in mailpit.wait_for(user.email, count=2)}
    assert set(found) == {
        "Warning: your wallet approved an unknown operator for all its tokens",
        "token #7 of our collection left your wallet",
    }
    text = mailpit.message(
        found["Warning: your wallet approved an unknown operator for all its tokens"]["ID"]
    )["Text"]
    assert text.startswith("WARNING") and OPERATOR in text
    warning_headers = mailpit.headers(
        found["Warning: your wallet approved an unknown operator for all its tokens"]["ID"]
    )
    assert "List-Unsubscribe" not in warning_headers  # security mail cannot be turned off
    assert Notification.objects.get(user=user, kind="wallet_approval_warning").warning


def test_merchant_staff_each_get_new_order_sold_out_and_show_live(
    store: dict[str, Any], placed_order: Any, make_person: Any, mailpit: MailpitApi, eager_celery: None
) -> None:
    from commerce.shows.models import Show

    staff = make_person(tag="staff")
    catalog.add_member(merchant_id=store["merchant"].pk, user=staff)
    order = placed_order(title="Wool scarf")
    (line,) = order.lines.all()
    created = event(
        "shipment.created",
        str(order.pk),
        {
            "shipment_id": 5,
            "merchant_id": order.merchant_id,
            "buyer_id": order.buyer_id,
            "order_id": order.pk,
            "redemption_id": None,
            "line_ids": [line.pk],
        },
    )
    handle(handlers.on_shipment_created, created)
    handle(handlers.on_shipment_created, created)  # redelivered
    sold_out = event(
        "inventory.sold_out",
        str(order.drop_id),
        {
            "drop_id": order.drop_id,
            "sku_id": line.sku_id,
            "offered": 10,
            "reserved": 2,
            "sold": 8,
            "available": 0,
        },
    )
    handle(handlers.on_sold_out, sold_out)
    show = Show.objects.create(
        merchant=store["merchant"],
        title="Friday live",
        playback_url="https://example.test/v.m3u8",
        scheduled_at=timezone.now(),
    )
    handle(
        handlers.on_show_state_changed,
        event(
            "show.state_changed",
            str(show.pk),
            {
                "show_id": show.pk,
                "merchant_id": store["merchant"].pk,
                "from_state": "scheduled",
                "to_state": "live",
            },
        ),
    )
    handle(
        handlers.on_show_state_changed,
        event(
            "show.state_changed",
            str(show.pk),
            {
                "show_id": show.pk,
                "merchant_id": store["merchant"].pk,
                "from_state": "live",
                "to_state": "ended",
            },
        ),
    )
    for person in (store["owner"], staff):
        subjects = sorted(m["Subject"] for m in mailpit.wait_for(person.email, count=3))
        assert subjects == sorted(
            [
                f"New order #{order.pk} to ship",
                f"Sold out: Wool scarf {line.sku.code} in Autumn drop",
                "Your show Friday live is live",
            ]
        ), subjects
    assert OutgoingEmail.objects.filter(kind="merchant_new_order").count() == 2  # one per staff member
    new_order = next(m for m in mailpit.to(staff.email) if m["Subject"].startswith("New order"))
    assert "2 x Wool scarf" in mailpit.message(new_order["ID"])["Text"]


def test_claim_completed_is_emitted_by_the_claim_service_and_announced_once(
    make_person: Any, mailpit: MailpitApi, eager_celery: None
) -> None:
    from nft.models import Claim, Collection
    from nft.services.wallets import settle_claim
    from realtime.models import OutboxEvent

    user = make_person()
    collection = Collection.objects.create(
        chain_id=31337,
        address=CONTRACT,
        name="C",
        symbol="C",
        base_uri="",
        royalty_receiver=WALLET,
        royalty_bps=0,
        deployer=WALLET,
    )
    claim = Claim.objects.create(
        user=user, collection=collection, token_id=7, from_address=OPERATOR, to_address=WALLET
    )
    with transaction.atomic():
        settle_claim(claim_id=claim.pk, ok=True, tx_hash="0x" + "cd" * 32)
        settle_claim(claim_id=claim.pk, ok=True, tx_hash="0x" + "cd" * 32)  # already final: no second event
    (row,) = OutboxEvent.objects.filter(type="nft.claim.completed")
    ev = Event(type=row.type, key=row.aggregateid, payload=row.payload, id=row.id)
    handle(handlers.on_claim_completed, ev)
    handle(
        handlers.on_claim_completed, Event(type=row.type, key=row.aggregateid, payload=row.payload)
    )  # re-emitted (reorg)
    (summary,) = mailpit.wait_for(user.email)
    assert summary["Subject"] == "Your claim of token #7 is complete"
    assert WALLET in mailpit.message(summary["ID"])["Text"]
    _ = json


def test_payment_failed_and_a_refund_reported_twice_give_one_message_each(
    placed_order: Any, mailpit: MailpitApi, eager_celery: None
) -> None:
    order = placed_order(title="Felt hat", price=1200, quantity=1)
    failed = {
        "order_id": order.pk,
        "payment_intent_id": "pi_1",
        "amount": 1200,
        "currency": "usd",
        "failure_message": "Your card was declined.",
    }
    handle(handlers.on_payment_failed, event("payment.failed", str(order.pk), failed))
    refund = {
        "order_id": order.pk,
        "payment_intent_id": "pi_1",
        "refund_id": "re_42",
        "amount": 1200,
        "currency": "usd",
        "line_id": order.lines.get().pk,
        "reason": "mint_failed",
    }
    # our own refund call and Stripe's webhook both report re_42: two events, one refund
    handle(handlers.on_payment_refunded, event("payment.refunded", str(order.pk), refund))
    handle(
        handlers.on_payment_refunded,
        event("payment.refunded", str(order.pk), {**refund, "stripe_event_id": "evt_9"}),
    )
    found = {m["Subject"]: m for m in mailpit.wait_for(order.buyer.email, count=2)}
    assert set(found) == {
        f"Payment for order #{order.pk} did not go through",
        f"Refund of USD 12.00 for order #{order.pk}",
    }
    text = mailpit.message(found[f"Payment for order #{order.pk} did not go through"]["ID"])["Text"]
    assert "Your bank said: Your card was declined." in text and f"/orders/{order.pk}/pay/" in text
    refund_text = mailpit.message(found[f"Refund of USD 12.00 for order #{order.pk}"]["ID"])["Text"]
    assert "refunded USD 12.00 for order" in refund_text and "(Felt hat)" in refund_text
    assert OutgoingEmail.objects.filter(user=order.buyer).count() == 2


def test_receipt_reads_the_shipping_address_snapshot_when_the_order_has_one() -> None:
    from types import SimpleNamespace

    from notifications.services.events import _shipping_address

    with_address: Any = SimpleNamespace(
        shipping_address={
            "name": "Ada Lovelace",
            "line1": "12 St James's Sq",
            "line2": "",
            "postal_code": "SW1Y 4JH",
            "city": "London",
            "country": "GB",
        }
    )
    assert _shipping_address(with_address) == [
        "Ada Lovelace",
        "12 St James's Sq",
        "SW1Y 4JH London",
        "GB",
    ]
    before_h4: Any = SimpleNamespace()  # an order from before the address field
    assert _shipping_address(before_h4) == []
    assert _shipping_address(SimpleNamespace(shipping_address=None)) == []  # type: ignore[arg-type]
