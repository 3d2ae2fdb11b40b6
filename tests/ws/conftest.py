"""Fixtures for the live WebSocket tests: a private Kafka namespace, real server processes, a shop."""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from commerce.services import catalog, drops
from realtime.kafka_config import admin_config
from realtime.topic_admin import ensure_topics
from realtime.topics import TOPICS
from tests.tokens import issue_token

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kafka_prefix(settings: Any) -> Iterator[str]:
    """A topic/group/Redis-key prefix of this test only (topics created now, deleted after)."""
    prefix = f"{os.environ['KAFKA_TOPIC_PREFIX']}{uuid.uuid4().hex[:6]}."
    settings.KAFKA_TOPIC_PREFIX = prefix
    ensure_topics()
    yield prefix
    AdminClient(admin_config()).delete_topics([f"{prefix}{t.name}" for t in TOPICS], operation_timeout=10)


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child process: this test's database and namespace."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "KAFKA_TOPIC_PREFIX": settings.KAFKA_TOPIC_PREFIX,
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
        "WS_FAST_PATHS": "1" if settings.WS_FAST_PATHS else "0",
        "SHOWS_CHAT_RATE_WINDOW_SECONDS": str(settings.SHOWS_CHAT_RATE_WINDOW_SECONDS),
        **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listeners(port: int) -> int:
    """How many sockets listen on 127.0.0.1:`port` (one per reuse-port process), from /proc/net/tcp."""
    local = f"0100007F:{port:04X}"
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1] == local and row.split()[3] == "0A")


def wait_for(predicate: Callable[[], bool], *, timeout: float = 60.0, what: str = "condition") -> None:
    """Poll until true; fail after `timeout` (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


class Processes:
    """Real child processes of one test; all killed at teardown."""

    def __init__(self, logs: Path) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = logs
        self.port = 0

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        # Output to files, never to a pipe nobody reads (a full pipe would stall the child).
        with open(self.logs / f"{name}.log", "ab") as log:
            proc = subprocess.Popen([*args], cwd=ROOT, env=child_env(), stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def manage(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        return self.start(name, sys.executable, str(ROOT / "manage.py"), *args)

    def asgi(self) -> str:
        """uvicorn on a free port, as the Procfile runs it; returns the ws:// base URL."""
        self.port = free_port()
        self.start(
            "asgi",
            str(ROOT / ".venv/bin/uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
            "--port", str(self.port), "--no-access-log", "--ws", "websockets-sansio",
            "--ws-per-message-deflate", "false", "--log-level", "warning",
        )  # fmt: skip

        def listening() -> bool:
            self.check("asgi")
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0

        wait_for(listening, timeout=120, what="uvicorn to listen")
        return f"ws://127.0.0.1:{self.port}"

    def ws_processes(self, count: int) -> str:
        """`count` ws processes on one port, as `honcho start -c ws=<count>` runs the Procfile's `ws`
        (realtime/ws/serve.py: each binds its own SO_REUSEPORT listener); returns the ws:// base URL."""
        self.port = free_port()
        for i in range(count):
            self.start(
                f"ws-{i}", sys.executable, "-m", "realtime.ws.serve",
                "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
            )  # fmt: skip

        def all_listening() -> bool:
            for i in range(count):
                self.check(f"ws-{i}")
            return listeners(self.port) == count

        wait_for(all_listening, timeout=300, what=f"{count} ws processes to listen on one port")
        return f"ws://127.0.0.1:{self.port}"

    def check(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is not None:
            err = (self.logs / f"{name}.log").read_text()[-3000:]
            pytest.fail(f"{name} exited with {proc.returncode}: {err}")

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


@pytest.fixture(params=[True, False], ids=["fast-paths-on", "fast-paths-off"])
def fast_paths(request: pytest.FixtureRequest, settings: Any) -> bool:
    """`WS_FAST_PATHS` on and off (realtime/ws/wire.py): the ASGI server these tests start gets it.

    Only the tests that start a real uvicorn use it: in-process tests never see its transport,
    so for them the two settings are the same code. Doubling those few tests costs less CI time
    than a second pytest run of tests/ws and tests/shows.
    """
    settings.WS_FAST_PATHS = request.param
    return bool(request.param)


@pytest.fixture
def procs(kafka_prefix: str, fast_paths: bool, tmp_path: Path) -> Iterator[Processes]:
    p = Processes(tmp_path)
    yield p
    p.stop_all()


@pytest.fixture
def live_stack(procs: Processes) -> Processes:
    """relay + projector + ASGI server, all real processes on this test's database and namespace."""
    procs.manage("relay", "relay_outbox")
    procs.manage("projector", "project_live")
    procs.asgi()
    return procs


def make_user(name: str) -> tuple[User, str]:
    user = User.objects.create_user(username=f"{name}-{uuid.uuid4().hex[:6]}", password="pw-12345678")
    return user, issue_token(user)


@pytest.fixture
def shop() -> dict[str, Any]:
    """A merchant (owner + staff), a physical and an NFT SKU, and a live drop of both."""
    owner, owner_token = make_user("owner")
    staff, staff_token = make_user("staff")
    merchant = catalog.create_merchant(name="Shop", slug=f"shop-{uuid.uuid4().hex[:6]}", owner=owner)

    catalog.add_member(merchant_id=merchant.pk, user=staff)
    tee = catalog.create_product(
        merchant_id=merchant.pk, kind="physical", title="Tee", skus=[catalog.SkuSpec(code="TEE", price=2500)]
    ).skus.get()
    drop = drops.create_drop(
        merchant_id=merchant.pk,
        title="Live drop",
        starts_at=timezone.now() - timedelta(seconds=1),
        per_buyer_limit=1000,
        items=[drops.DropItemSpec(sku_id=tee.pk, quantity=50)],
    )
    drops.start_drop(drop_id=drop.pk)
    return {
        "merchant": merchant,
        "owner": owner,
        "owner_token": owner_token,
        "staff": staff,
        "staff_token": staff_token,
        "sku": tee,
        "drop": drop,
    }
