"""A reorg that takes back a delivered mint reaches the buyer's order socket: re-opened, then fulfilled.

Real stack (ASGI server + relay + projector, Kafka, Redis, PostgreSQL); the chain side is covered by
tests/payments/test_reorg_reopen.py, here the saga's reorg service runs on a delivered order.
"""

import asyncio
import uuid
from typing import Any

import pytest
from django.db import transaction

from commerce.models import LineStatus, Order, OrderLine, OrderStatus
from commerce.payments.models import MintStatus, SagaLine
from commerce.payments.services.reorgs import apply_reorg_detected
from commerce.services.fulfilment import mark_line_minted
from commerce.services.locks import lock_order
from commerce.services.orders import transition_order
from tests.tokens import ws_ticket
from tests.ws.conftest import Processes, make_user
from tests.ws.live_client import LiveClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.slow]

TX = "0x" + "cd" * 32


def _delivered_order(shop: dict[str, Any], buyer: Any) -> tuple[Order, OrderLine]:
    order = Order.objects.create(
        buyer=buyer, merchant=shop["merchant"], drop=shop["drop"], total=2500, currency="usd"
    )
    line = OrderLine.objects.create(
        order=order, sku=shop["sku"], kind="digital", title="Jacket", quantity=1, unit_price=2500,
        currency="usd", status=LineStatus.FULFILLED, token_id="7",
    )  # fmt: skip
    SagaLine.objects.create(line=line, order=order, mint_status=MintStatus.CONFIRMED, tx_hash=TX)
    return order, line


def _move(order_id: int, status: str) -> None:
    with transaction.atomic():
        transition_order(lock_order(order_id), status, reason="test")


def test_order_socket_gets_reopened_then_fulfilled_again(live_stack: Processes, shop: dict[str, Any]) -> None:
    buyer, _ = make_user("buyer")
    order, line = _delivered_order(shop, buyer)

    def url() -> str:  # a fresh single-use ticket per socket
        return f"ws://127.0.0.1:{live_stack.port}/ws/orders/{order.pk}/?ticket={ws_ticket(buyer)}"

    async def scenario() -> None:
        watcher = await LiveClient(url()).open()
        await watcher.wait_for(lambda f: f["type"] == "snapshot")
        await asyncio.to_thread(_move, order.pk, "paid")
        await asyncio.to_thread(_move, order.pk, "fulfilled")
        await watcher.wait_for(lambda f: f.get("status") == "fulfilled", timeout=60)

        def reorg_then_confirm_again() -> None:
            assert apply_reorg_detected(
                event_id=uuid.uuid4(), affected_tx_hashes=[TX], fork_block_number=10, depth=4
            ) == [line.pk]
            assert Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLING
            assert OrderLine.objects.get(pk=line.pk).status == LineStatus.PAID
            mark_line_minted(line_id=line.pk)  # what nft.mint.confirmed of the re-mined tx does

        await asyncio.to_thread(reorg_then_confirm_again)
        await watcher.wait_for(
            lambda f: f.get("status") == "fulfilled" and f.get("previous_status") == "fulfilling", timeout=60
        )
        statuses = [
            (f["status"], f["previous_status"]) for f in watcher.frames if f["type"] == "order_status"
        ]
        assert statuses == [
            ("paid", "pending_payment"),
            ("fulfilled", "paid"),
            ("fulfilling", "fulfilled"),  # order.reopened
            ("fulfilled", "fulfilling"),
        ]
        reopened = next(f for f in watcher.frames if f.get("status") == "fulfilling")
        assert "reorg" in reopened["reason"]
        await watcher.close()

    asyncio.run(scenario())
    assert Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLED
    saga_line = SagaLine.objects.get(line=line)
    assert saga_line.mint_status == MintStatus.REQUESTED  # back to minting until the next confirmation
