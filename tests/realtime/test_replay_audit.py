"""Replay rebuilds the live projection from the log; the audit reads the log with no side effects."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client

from realtime.events import Event
from realtime.models import OutboxEvent, SalesByDrop
from realtime.outbox import emit
from realtime.replay import PROJECTIONS, rebuild
from realtime.topics import topic_for_aggregate
from tests.events import make_payload
from tests.realtime.conftest import wait_for
from tests.realtime.helpers import ConsumerThread, republish
from tests.realtime.test_consumer import produce_raw, relay_all

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
REPLAY_URL = "/admin/realtime/salesbydrop/replay/"


def sold(drop_id: int, quantity: int, unit_price: int, currency: str = "usd") -> dict[str, Any]:
    return make_payload(
        "inventory.sold",
        drop_id=drop_id,
        reservation_id=str(uuid.uuid4()),
        order_id=1000 + drop_id,
        quantity=quantity,
        unit_price=unit_price,
        currency=currency,
        offered=500,
        reserved=0,
        sold=quantity,
        available=500 - quantity,
    )


def test_replay_rebuilds_the_live_sales_projection_exactly(kafka_prefix: str) -> None:
    expected: dict[tuple[int, str], list[int]] = {}
    with transaction.atomic():
        for i in range(60):
            drop_id, currency = 1 + i % 4, ("usd", "eur")[i % 2]
            quantity, price = 1 + i % 3, 100 * (1 + i % 5)
            emit(type="inventory.sold", key=drop_id, payload=sold(drop_id, quantity, price, currency))
            row = expected.setdefault((drop_id, currency), [0, 0, 0])
            row[0] += quantity
            row[1] += quantity * price
            row[2] += 1
        emit(
            type="inventory.restocked",
            key=1,
            payload=make_payload(
                "inventory.restocked", drop_id=1, added=5, offered=505, reserved=0, sold=0, available=505
            ),
        )
    relay_all()
    first_ten = OutboxEvent.objects.order_by("sequence").values_list("id", "aggregatetype")[:10]
    for aggregate in {a for _i, a in first_ten}:
        republish([str(i) for i, a in first_ten if a == aggregate], topic_for_aggregate(aggregate).name)
    # ten events are now twice in the log, as after a relay crash

    with ConsumerThread("sales") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="live sales projection")
    live = {(r.drop_id, r.currency): [r.units, r.gross, r.sales] for r in SalesByDrop.objects.all()}
    assert live == expected

    result = rebuild("sales")
    assert (result.applied, result.duplicates, result.differences) == (60, 10, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT drop_id, currency, units, gross, sales FROM {PROJECTIONS['sales'].rebuild_table}"
        )
        rebuilt = {(d, c): [u, g, s] for d, c, u, g, s in cursor.fetchall()}
    assert rebuilt == expected

    # The comparison is real: a live row that drifted is reported, and --check fails on it.
    SalesByDrop.objects.filter(drop_id=1, currency="usd").update(units=0)
    assert rebuild("sales").differences == 2
    with pytest.raises(Exception, match="differ from the live projection"):
        call_command("replay", "sales", "--check")


BASE = datetime(2026, 1, 10, tzinfo=UTC)


def _order(
    order_id: int, merchant: int, total: int, currency: str, status: str, **extra: Any
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "buyer_id": 42,
        "merchant_id": merchant,
        "drop_id": None,
        "status": status,
        "total": total,
        "currency": currency,
        **extra,
    }


def _history() -> list[tuple[str, int, dict[str, Any], datetime]]:
    line = {"line_id": 11, "sku_id": 3, "kind": "digital", "quantity": 1, "unit_price": 9800}
    mint = {
        "chain_id": 31337,
        "contract_address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "to_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "tx_hash": "0x" + "ab" * 32,
        "block_number": 120,
        "confirmations": 2,
    }
    stock = {"drop_id": 7, "sku_id": 3, "reservation_id": str(uuid.uuid4())}
    h = timedelta(hours=1)
    return [
        # order 5 paid by a payment that happened just before the range: fine
        (
            "payment.succeeded",
            5,
            {"order_id": 5, "payment_intent_id": "pi_5", "amount": 300, "currency": "eur"},
            BASE - h,
        ),
        ("order.paid", 5, _order(5, 2, 300, "eur", "paid"), BASE + h),
        # order 1: placed, paid, minted, half refunded: fine
        ("order.placed", 1, _order(1, 1, 9800, "usd", "pending_payment", lines=[line]), BASE + 2 * h),
        (
            "payment.succeeded",
            1,
            {"order_id": 1, "payment_intent_id": "pi_1", "amount": 9800, "currency": "usd"},
            BASE + 3 * h,
        ),
        ("order.paid", 1, _order(1, 1, 9800, "usd", "paid"), BASE + 3 * h),
        ("nft.mint.confirmed", 1, {"order_id": 1, "line_id": 11, "token_id": "11", **mint}, BASE + 4 * h),
        (
            "payment.refunded",
            1,
            {
                "order_id": 1,
                "payment_intent_id": "pi_1",
                "refund_id": "re_1",
                "amount": 4900,
                "currency": "usd",
                "line_id": None,
            },
            BASE + 5 * h,
        ),
        # order 2: paid without any payment event
        ("order.paid", 2, _order(2, 1, 1500, "usd", "paid"), BASE + 6 * h),
        # order 3: paid 700, payment says 500
        (
            "payment.succeeded",
            3,
            {"order_id": 3, "payment_intent_id": "pi_3", "amount": 500, "currency": "eur"},
            BASE + 7 * h,
        ),
        ("order.paid", 3, _order(3, 2, 700, "eur", "paid"), BASE + 7 * h),
        # a token minted for an order never paid, and one for a line the order does not have
        ("nft.mint.confirmed", 4, {"order_id": 4, "line_id": 41, "token_id": "41", **mint}, BASE + 8 * h),
        ("nft.mint.confirmed", 1, {"order_id": 1, "line_id": 99, "token_id": "99", **mint}, BASE + 8 * h),
        # stock: consistent, then figures that do not add up (schema-valid, still wrong)
        (
            "inventory.reserved",
            7,
            {
                **stock,
                "buyer_id": 42,
                "quantity": 1,
                "offered": 10,
                "reserved": 1,
                "sold": 0,
                "available": 9,
                "expires_at": "2026-01-10T10:10:00+00:00",
            },
            BASE + 9 * h,
        ),
        (
            "inventory.sold",
            7,
            {
                **stock,
                "order_id": 9,
                "merchant_id": 1,
                "quantity": 8,
                "unit_price": 100,
                "currency": "usd",
                "offered": 10,
                "reserved": 5,
                "sold": 8,
                "available": 0,
            },
            BASE + 10 * h,
        ),
        # after the range: must not appear in the report
        ("order.paid", 6, _order(6, 1, 100, "usd", "paid"), BASE + 30 * h),
    ]


def test_audit_finds_each_problem_totals_per_merchant_and_is_byte_identical(
    kafka_prefix: str, tmp_path: Path
) -> None:
    ids = []
    with transaction.atomic():
        for type_, key, payload, at in _history():
            event = emit(type=type_, key=key, payload=payload)
            OutboxEvent.objects.filter(id=event.id).update(created_at=at)
            ids.append(str(event.id))
    relay_all()
    # The log also holds a duplicate (at-least-once) and a message that fails its schema: negative stock.
    fifth = OutboxEvent.objects.get(id=ids[4])
    assert republish([ids[4]], topic_for_aggregate(fifth.aggregatetype).name) == 1
    negative = Event(
        type="inventory.released",
        key="7",
        occurred_at=BASE + timedelta(hours=11),
        payload={
            "drop_id": 7,
            "sku_id": 3,
            "reservation_id": str(uuid.uuid4()),
            "quantity": 1,
            "reason": "expired",
            "offered": 10,
            "reserved": 0,
            "sold": 12,
            "available": -2,
        },
    )
    produce_raw([("7", negative.to_json())], topic="drops")

    args = ["--from", "2026-01-10", "--to", "2026-01-11", "--out"]
    call_command("audit", *args, str(tmp_path / "a"))
    call_command("audit", *args, str(tmp_path / "b"))
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == [
        "audit-20260110T000000Z-20260111T000000Z-findings.csv",
        "audit-20260110T000000Z-20260111T000000Z-totals.csv",
        "audit-20260110T000000Z-20260111T000000Z.json",
    ]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()

    report = json.loads((tmp_path / "a" / files[2]).read_text())
    problems = {
        name: [(f.get("order_id", f.get("sku_id")), f["problem"]) for f in c["failures"]]
        for name, c in report["checks"].items()
    }
    assert problems["paid_order_has_payment"] == [
        (2, "no payment.succeeded"),
        (3, "paid 500 eur for a total of 700 eur"),
    ]
    assert problems["minted_token_has_paid_order_line"] == [
        (1, "order has no such line"),
        (4, "order was never paid"),
    ]
    assert [p for _, p in problems["stock_never_below_zero"]] == [
        "available is -2; reserved 0 + sold 12 > offered 10",
        "reserved 5 + sold 8 > offered 10; available 0 != offered - reserved - sold (-3)",
    ]
    assert (
        report["checks"]["paid_order_has_payment"]["checked"] == 4
    )  # orders 5, 1, 2, 3 (not 6, not the copy)
    assert [e["id"] for e in report["invalid_events"]] == [str(negative.id)]
    assert report["totals"] == [
        {
            "merchant_id": 1,
            "currency": "usd",
            "orders_paid": 2,
            "gross": 11300,
            "refunds": 1,
            "refunded": 4900,
            "net": 6400,
        },
        {
            "merchant_id": 2,
            "currency": "eur",
            "orders_paid": 2,
            "gross": 1000,
            "refunds": 0,
            "refunded": 0,
            "net": 1000,
        },
    ]
    assert report["ok"] is False
    totals_csv = (tmp_path / "a" / files[1]).read_text().splitlines()
    assert totals_csv[0] == "merchant_id,currency,orders_paid,gross,refunds,refunded,net"
    assert totals_csv[1] == "1,usd,2,11300,1,4900,6400"


def test_admin_replays_the_sales_read_model_and_shows_the_check(kafka_prefix: str) -> None:
    with transaction.atomic():
        for i in range(6):
            emit(type="inventory.sold", key=1 + i % 2, payload=sold(1 + i % 2, 1 + i % 3, 500))
    relay_all()
    with ConsumerThread("sales") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="live sales projection")
    assert SalesByDrop.objects.count() == 2

    users = get_user_model().objects
    staff = users.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    clerk = Client()
    clerk.force_login(staff)
    assert clerk.post(REPLAY_URL).status_code == 403  # staff, not superuser: no replay
    admin = Client()
    admin.force_login(users.create_superuser("root", "root@example.com", "pw"))
    listing = admin.get("/admin/realtime/salesbydrop/")
    assert listing.status_code == 200 and REPLAY_URL.encode() in listing.content
    page = admin.get(REPLAY_URL)
    assert page.status_code == 200 and page.context["result"] is None  # GET only explains

    equal = admin.post(REPLAY_URL)
    assert equal.status_code == 200
    result = equal.context["result"]
    assert (result.applied, result.rows, result.differences) == (6, 2, 0)
    assert [str(m) for m in equal.context["messages"]] == ["sales: equal to the live projection"]
    assert b"equal to the live projection" in equal.content

    # A live row that drifted: the replay reports it and leaves the live table as it was.
    SalesByDrop.objects.filter(drop_id=1).update(units=0)
    drifted = admin.post(REPLAY_URL)
    assert drifted.context["result"].differences == 2
    assert [str(m) for m in drifted.context["messages"]] == [
        "sales: 2 row(s) differ from the live projection"
    ]
    assert SalesByDrop.objects.get(drop_id=1).units == 0
