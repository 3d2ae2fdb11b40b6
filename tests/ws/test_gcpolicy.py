"""The ws process's collector policy: survivors frozen each tick, a full collection per interval."""

import asyncio
import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from realtime.ws.gcpolicy import GcPolicy


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # this test process must not keep anything frozen


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_ticks_freeze_survivors_and_the_full_collection_reclaims_frozen_cycles() -> None:
    now = [0.0]
    policy = GcPolicy(full_every=10.0, clock=lambda: now[0])
    garbage = Cycle()
    alive = weakref.ref(garbage)
    assert policy.tick() == "freeze"
    assert gc.get_freeze_count() > 0
    del garbage  # now a cycle nothing refers to: only the collector can free it
    gc.collect()
    assert alive() is not None  # frozen: ordinary collections no longer look at it
    now[0] = 10.0
    assert policy.tick() == "full"
    assert alive() is None  # the interval's full collection reclaimed it
    assert gc.get_freeze_count() > 0  # and froze the survivors again


def test_a_full_collection_waits_for_its_interval() -> None:
    now = [0.0]
    policy = GcPolicy(full_every=600.0, clock=lambda: now[0])
    now[0] = 599.0
    assert policy.tick() == "freeze"
    now[0] = 600.0
    assert policy.tick() == "full"
    now[0] = 601.0
    assert policy.tick() == "freeze"


def test_the_policy_starts_with_the_servers_lifespan_not_on_import(monkeypatch: pytest.MonkeyPatch) -> None:
    from config import asgi
    from realtime.ws import gcpolicy

    started: list[bool] = []
    monkeypatch.setattr(gcpolicy, "start", lambda: started.append(True))
    assert not any(t.name == "ws-gc-policy" for t in threading.enumerate())  # importing started nothing
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return next(messages)

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])

    asyncio.run(asgi.application({"type": "lifespan"}, receive, send))
    assert started == [True]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
