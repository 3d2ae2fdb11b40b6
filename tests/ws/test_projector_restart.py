"""Killing the projector (SIGKILL) mid-drop and restarting it: every client still converges to the
true stock from the database, sees the sold-out final state, and never sees a seq twice or go back."""

import asyncio
import itertools
import time
from typing import Any

import pytest

from commerce.models import DropItem
from commerce.services.reservations import reserve_stock
from tests.ws.conftest import Processes, make_user
from tests.ws.live_client import LiveClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.slow]


def test_clients_converge_after_the_projector_is_killed_and_restarted(
    live_stack: Processes, shop: dict[str, Any]
) -> None:
    drop, sku = shop["drop"], shop["sku"]
    buyer, _ = make_user("buyer")
    url = f"ws://127.0.0.1:{live_stack.port}/ws/drops/{drop.pk}/"

    def stampede() -> None:
        """50 units, one per reservation; the projector dies after 15 and comes back only after the
        last one, so everything from then on -- the sold-out final state included -- reaches the
        clients only if the restarted projector resumes from the right offsets."""
        for i in range(50):
            reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=buyer.pk, quantity=1)
            if i == 15:
                live_stack.kill("projector")  # SIGKILL: no flush, no offset commit
            time.sleep(0.02)
        live_stack.manage("projector", "project_live")

    async def scenario() -> list[LiveClient]:
        clients = [await LiveClient(url).open() for _ in range(3)]
        for c in clients:
            await c.wait_for(lambda f: f["type"] == "snapshot")
        await asyncio.to_thread(stampede)
        for c in clients:
            await c.wait_for(lambda f: f["type"] == "stock" and f["sold_out"], timeout=90)
        # Also one client that joins late, resuming from the snapshot of an early one.
        late = await LiveClient(f"{url}?last_seq={clients[0].frames[0]['seq']}").open()
        await late.wait_for(lambda f: f["type"] in ("snapshot", "stock") and f["skus"][0]["available"] == 0)
        for c in [*clients, late]:
            await c.close()
        return [*clients, late]

    clients = asyncio.run(scenario())
    item = DropItem.objects.get(drop=drop, sku=sku)
    truth = item.offered - item.reserved - item.sold
    assert truth == 0
    for client in clients:
        assert client.stock() == {sku.pk: truth}
        assert all(a < b for a, b in itertools.pairwise(client.seqs())), client.seqs()
