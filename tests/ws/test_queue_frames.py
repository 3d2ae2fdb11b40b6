"""`queue` frames on the drop socket: a signed-in buyer sees their place, then their admission."""

import asyncio
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from commerce.waiting_room import services as rooms
from config.asgi import application
from tests.commerce.waiting_room.conftest import private_redis  # noqa: F401 (fixture)
from tests.tokens import ws_ticket
from tests.ws.conftest import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

ORIGIN = (b"origin", b"http://127.0.0.1")


async def _next_queue_frame(comm: WebsocketCommunicator, timeout: float = 30) -> dict[str, Any]:
    """Skip stream frames (snapshot, stock...) until a `queue` frame arrives."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await comm.receive_json_from(timeout=max(0.1, deadline - loop.time()))
        if frame["type"] == "queue":
            return frame


def test_position_then_admission_pushed_and_kept_across_reconnects(private_redis, shop, settings) -> None:  # noqa: F811
    settings.COMMERCE_WAITING_ROOM_PUSH_SECONDS = 0.05
    drop = shop["drop"]
    rooms.configure(drop_id=drop.pk, merchant_id=shop["merchant"].pk, mode="on", admit_per_second=1)
    first, _ = make_user("first")
    buyer, _ = make_user("buyer")
    rooms.join(drop_id=drop.pk, buyer_id=first.pk)
    rooms.join(drop_id=drop.pk, buyer_id=buyer.pk)
    # A single-use ticket per connection (tokens are refused in socket URLs).
    first_path, second_path = (f"/ws/drops/{drop.pk}/?ticket={ws_ticket(buyer)}" for _ in range(2))

    async def scenario() -> None:
        comm = WebsocketCommunicator(application, first_path, headers=[ORIGIN])
        assert (await comm.connect(timeout=10))[0]
        frame = await _next_queue_frame(comm)
        assert (frame["status"], frame["position"], frame["stream"]) == ("queued", 2, f"drop.{drop.pk}")
        assert frame["eta_seconds"] == 2 and "lottery" in frame["rule"]
        await comm.disconnect()
        # Reconnect: same place (identity is the user, not the socket).
        comm = WebsocketCommunicator(application, second_path, headers=[ORIGIN])
        assert (await comm.connect(timeout=10))[0]
        assert (await _next_queue_frame(comm))["position"] == 2
        # The admitter lets `first` in (burst 1): our buyer moves up, and is pushed the change.
        await asyncio.to_thread(rooms.tick, drop_id=drop.pk)
        assert (await _next_queue_frame(comm))["position"] == 1
        await asyncio.to_thread(rooms.tick, drop_id=drop.pk, now_ms=2**41)  # far later: bucket refilled
        admitted = await _next_queue_frame(comm)
        assert admitted["status"] == "admitted" and admitted["admission_token"]
        await comm.disconnect()

    asyncio.run(scenario())
