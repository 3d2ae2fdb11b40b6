"""Waiting-room fixtures: a private redis-server per test (never the shared one: tests kill it)."""

import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from commerce.waiting_room import services as rooms


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivateRedis:
    """A redis-server this test started (and may kill -9 and start again on the same port)."""

    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        probe = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        while True:
            try:
                if probe.ping():
                    return
            except redis.RedisError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server on {self.port} did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: everything in memory is gone, like a crashed Redis without persistence."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def private_redis(settings: Any) -> Iterator[PrivateRedis]:
    server = PrivateRedis(port=_free_port())
    server.start()
    settings.COMMERCE_WAITING_ROOM_REDIS_URL = server.url
    settings.COMMERCE_WAITING_ROOM_PREFIX = f"test:{uuid.uuid4().hex[:8]}:"
    settings.COMMERCE_WAITING_ROOM_CACHE_SECONDS = 0.0  # see a configure() at once
    rooms.forget_cached()
    try:
        yield server
    finally:
        server.kill()
        rooms.forget_cached()


@pytest.fixture
def queued_drop(make_drop: Callable[..., Any], shop: dict[str, Any]) -> Callable[..., Any]:
    """A drop with its waiting room turned on (rate in buyers/s)."""

    def make(*, rate: float = 50.0, **kw: Any) -> Any:
        drop = make_drop(**kw)
        rooms.configure(drop_id=drop.pk, merchant_id=shop["merchant"].pk, mode="on", admit_per_second=rate)
        return drop

    return make
