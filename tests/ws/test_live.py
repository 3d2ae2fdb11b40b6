"""Must-show items on the real stack: uvicorn (ASGI) + relay + projector, real Kafka, Redis, PostgreSQL.

- a reservation made through the HTTP API produces a stock frame on the drop socket;
- an order paid -> minted produces its status frames in order on the order socket;
- seq strictly increases; reconnecting with an old seq gets the missed frames incl. the final one.
"""

import asyncio
import itertools
from typing import Any

import httpx
import pytest
from django.db import transaction

from commerce.models import Order
from commerce.services.locks import lock_order
from commerce.services.orders import transition_order
from realtime.outbox import emit
from tests.tokens import ws_ticket
from tests.ws.conftest import Processes, make_user
from tests.ws.live_client import LiveClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.slow]

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TX = "0x" + "ab" * 32


def strictly_increasing(values: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


def test_reservation_through_the_http_api_reaches_the_drop_socket(
    live_stack: Processes, shop: dict[str, Any]
) -> None:
    base = f"127.0.0.1:{live_stack.port}"
    drop, sku = shop["drop"], shop["sku"]
    _, token = make_user("buyer")

    async def scenario() -> None:
        client = await LiveClient(f"ws://{base}/ws/drops/{drop.pk}/").open()
        snap = await client.wait_for(lambda f: f["type"] == "snapshot")
        assert snap["skus"][0]["available"] == 50
        async with httpx.AsyncClient(base_url=f"http://{base}", timeout=60) as http:
            for _ in range(3):
                resp = await http.post(
                    "/api/v1/reservations/",
                    json={"drop_id": drop.pk, "sku_id": sku.pk, "quantity": 2},
                    headers={"Authorization": f"Token {token}"},
                )
                assert resp.status_code == 201, resp.text
        last = await client.wait_for(
            lambda f: f["type"] == "stock" and f["skus"][0]["available"] == 44, timeout=60
        )
        assert last["drop_id"] == drop.pk and last["skus"][0]["reserved"] == 6 and last["seq"] > snap["seq"]
        assert strictly_increasing(client.seqs())
        await client.close()

    asyncio.run(scenario())


def _emit(type: str, key: int, payload: dict[str, Any]) -> None:
    with transaction.atomic():
        emit(type=type, key=key, payload=payload)


def _move(order_id: int, status: str) -> None:
    with transaction.atomic():
        transition_order(lock_order(order_id), status, reason="test")


def pay_and_mint(order: Order) -> None:
    """What payments + nft do for an order with one NFT line, as events through the outbox."""
    mint = {"order_id": order.pk, "line_id": 1, "chain_id": 31337, "contract_address": CONTRACT,
            "token_id": "7", "to_address": WALLET}  # fmt: skip
    _emit("payment.succeeded", order.pk, {"order_id": order.pk, "payment_intent_id": "pi_1", "amount": 2500,
                                          "currency": "usd"})  # fmt: skip
    _move(order.pk, "paid")
    _emit("nft.mint.requested", order.pk, mint)
    _emit("nft.mint.submitted", order.pk, {**mint, "tx_hash": TX})
    _emit("nft.mint.confirmed", order.pk, {**mint, "tx_hash": TX, "block_number": 12, "confirmations": 2})
    _move(order.pk, "fulfilled")


EXPECTED = [
    ("payment", "succeeded"),
    ("order_status", "paid"),
    ("mint", "requested"),
    ("mint", "submitted"),
    ("mint", "confirmed"),
    ("order_status", "fulfilled"),
]


def _steps(frames: list[dict[str, Any]]) -> list[tuple[str, str]]:
    keys = {"payment": "event", "order_status": "status", "mint": "state"}
    return [(f["type"], f[keys[f["type"]]]) for f in frames if f["type"] in keys]


def test_order_paid_then_minted_arrives_in_order_and_survives_reconnects(
    live_stack: Processes, shop: dict[str, Any]
) -> None:
    buyer, _ = make_user("buyer")
    order = Order.objects.create(
        buyer=buyer, merchant=shop["merchant"], drop=shop["drop"], total=2500, currency="usd"
    )

    def url() -> str:  # a fresh single-use ticket per socket
        return f"ws://127.0.0.1:{live_stack.port}/ws/orders/{order.pk}/?ticket={ws_ticket(buyer)}"

    async def scenario() -> None:
        watcher = await LiveClient(url()).open()
        snap = await watcher.wait_for(lambda f: f["type"] == "snapshot")
        assert snap["status"] == "pending_payment"
        await asyncio.to_thread(pay_and_mint, order)
        final = await watcher.wait_for(lambda f: f.get("status") == "fulfilled", timeout=60)
        assert _steps(watcher.frames) == EXPECTED
        confirmed = next(f for f in watcher.frames if f.get("state") == "confirmed")
        assert confirmed["tx_hash"] == TX and confirmed["block_number"] == 12
        assert strictly_increasing(watcher.seqs())
        await watcher.close()

        # A client that saw only the first two frames reconnects with its last seq: it gets the rest.
        second_seq = watcher.frames[2]["seq"]
        late = await LiveClient(f"{url()}&last_seq={second_seq}").open()
        await late.wait_for(lambda f: f.get("status") == "fulfilled")
        assert late.frames[0]["type"] != "snapshot"
        assert _steps(late.frames) == EXPECTED[2:]
        assert strictly_increasing(late.seqs()) and late.seqs()[-1] == final["seq"]
        await late.close()

        # Same on an open socket with a resume message.
        again = await LiveClient(url()).open()
        fresh = await again.wait_for(lambda f: f["type"] == "snapshot")
        assert fresh["status"] == "fulfilled" and fresh["seq"] == final["seq"]  # snapshot is current
        await again.send({"type": "resume", "last_seq": 0})
        await again.wait_for(lambda f: f.get("status") == "fulfilled" and f["type"] == "order_status")
        assert _steps(again.frames) == EXPECTED
        await again.close()

    asyncio.run(scenario())
