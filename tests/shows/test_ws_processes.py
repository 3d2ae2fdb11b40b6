"""Several ws processes behind one port (realtime/ws/serve.py, SO_REUSEPORT): real processes, real Redis.

The kernel spreads the sockets over both processes; each process's hub receives every frame of the
show through the channel layer, so a frame published once reaches every viewer whichever process
serves it; when one process goes away, new viewers are served by the other on the same port.
"""

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings

from commerce.shows.models import Show
from commerce.shows.services import pins
from realtime.shows.presence import presence_key
from tests.ws.conftest import Processes, listeners, wait_for
from tests.ws.live_client import LiveClient

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]
VIEWERS = 24  # all on one process by chance: 2 ** -23
WAIT = 60.0  # a bound for a frame to arrive on a busy box, not a measurement


@pytest.fixture
def fast_paths(settings: Any) -> bool:
    """The Procfile's setting only: this test is about processes, not about the write path."""
    settings.WS_FAST_PATHS = True
    return True


async def _until(client: LiveClient, test: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for frame in client.frames:
            if test(frame):
                return frame
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {what} frame; got {[f.get('type') for f in client.frames]}")


def _per_process_counts(show_id: int) -> list[int]:
    """Viewers per ws process as each reports them into the show's presence hash (count:time)."""
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    try:
        fields: dict[bytes, bytes] = client.hgetall(presence_key(show_id))  # type: ignore[assignment]
    finally:
        client.close()
    return sorted(int(value.decode().partition(":")[0]) for value in fields.values())


def test_two_ws_processes_on_one_port_both_deliver(
    procs: Processes, live_show: Show, shop: dict[str, Any]
) -> None:
    base = procs.ws_processes(2)
    assert listeners(procs.port) == 2
    url = f"{base}/ws/shows/{live_show.pk}/"
    show_stream = f"show.{live_show.pk}"

    async def run() -> None:
        viewers = [await LiveClient(url).open() for _ in range(VIEWERS)]
        for viewer in viewers:
            await _until(viewer, lambda f: f["type"] == "snapshot" and f["stream"] == show_stream, "snapshot")
        loop = asyncio.get_running_loop()

        # Both processes hold viewers: each writes its own count into the presence hash once a second.
        def spread() -> bool:
            counts = _per_process_counts(live_show.pk)
            return len(counts) == 2 and sum(counts) == VIEWERS

        await loop.run_in_executor(
            None, lambda: wait_for(spread, timeout=WAIT, what="viewers on both processes")
        )
        low, high = _per_process_counts(live_show.pk)
        assert low > 0 and low + high == VIEWERS

        # One publish (one group_send) reaches every viewer, whichever process serves it.
        await loop.run_in_executor(None, lambda: pins.pin_product(
            show_id=live_show.pk, merchant_id=shop["merchant"].pk, product_id=shop["tee"].pk))  # fmt: skip
        for viewer in viewers:
            pinned = await _until(viewer, lambda f: f["type"] == "pinned", "pinned")
            assert pinned["product"]["title"] == "Tee" and pinned["stream"] == show_stream

        # One process goes away: its listener leaves the port's group, the other serves new viewers.
        procs.kill("ws-0")
        await loop.run_in_executor(None, lambda: wait_for(lambda: listeners(procs.port) == 1, timeout=WAIT,
                                                          what="the killed process's listener to go"))  # fmt: skip
        late = [await LiveClient(url).open() for _ in range(6)]
        for viewer in late:
            # A joiner may reuse a snapshot the process loaded a moment earlier (WS_SNAPSHOT_REUSE_MS):
            # it then gets the frames routed after that snapshot's head right behind it. Either way the
            # viewer's state names the pinned product.
            def shows_pin(f: dict[str, Any]) -> bool:
                return (f["type"] == "snapshot" and f["stream"] == show_stream and bool(f["pinned"])) or (
                    f["type"] == "pinned" and f["stream"] == show_stream
                )

            state = await _until(viewer, shows_pin, "snapshot or pinned")
            pinned = state["pinned"] if state["type"] == "snapshot" else state["product"]
            assert pinned["product_id"] == shop["tee"].pk
        for viewer in viewers + late:
            await viewer.close()

    asyncio.run(run())
