"""The whole mintdrop system as subprocesses against the TEST database, for browser end-to-end tests.

`Stack` starts (each in its own process group, output in artifacts/e2e-logs/<test database>/):
a private anvil (so mining and nonces never touch anyone else's chain), `kafka_topics --apply`,
the web server (granian WSGI, as the Procfile), the ws server (uvicorn), `relay_outbox`,
`consume saga`, `consume nft`, `consume fulfilment`, `project_live` (the live projector), a Celery worker and
`watch_chain`; waits until web and ws answer; kills every group on exit.

Everything shares this test's DATABASE_URL (pytest-django's test database) and KAFKA_TOPIC_PREFIX,
so runs never collide; Celery uses its own Redis database (flushed at start) for the same reason.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import connection

from config.web_command import web_command

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# Each pytest process (ops/test-split runs several at once) gets its own logs and its own Celery broker
# db: two stacks sharing one queue steal each other's tasks (a worker closing an auction that lives in
# the other part's database) and flush each other's queued eta tasks.
LOG_DIR = ROOT / "artifacts" / "e2e-logs" / os.environ.get("DATABASE_TEST_NAME", "test_mintdrop")
CELERY_REDIS_DB = int(os.environ.get("E2E_CELERY_REDIS_DB", "11"))
# Bounded, generous: under CI three pytest processes share 2 cores and Django takes long to import.
START_TIMEOUT = float(os.environ.get("E2E_START_TIMEOUT", "240"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def anvil_binary() -> Path:
    found = sorted(Path(settings.NODE_MODULES_DIR).glob("@foundry-rs/anvil-linux-*/bin/anvil"))
    if not found:
        raise RuntimeError("anvil not installed: run ops/install anvil")
    return found[0]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Stack:
    """Start with `start()`, stop with `stop()` (also on failure); URLs in `web_url`, `ws_url`, `chain_url`."""

    def __init__(self) -> None:
        self.web_port, self.ws_port, self.chain_port = free_port(), free_port(), free_port()
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self.ws_url = f"ws://127.0.0.1:{self.ws_port}"
        self.chain_url = f"http://127.0.0.1:{self.chain_port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, IO[bytes]] = {}
        LOG_DIR.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        db = connection.settings_dict
        redis_base = settings.REDIS_URL.rsplit("/", 1)[0]
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "DATABASE_CONN_MAX_AGE": "0",
            "KAFKA_TOPIC_PREFIX": settings.KAFKA_TOPIC_PREFIX,
            "CHAIN_RPC_URL": self.chain_url,
            "CHAIN_CONFIRMATIONS": "2",
            "NFT_POLL_INTERVAL_SECONDS": "0.3",
            "CELERY_BROKER_URL": f"{redis_base}/{CELERY_REDIS_DB}",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DJANGO_DEBUG": "true",  # whitenoise serves static files through the finders (no collectstatic)
            "PAYMENTS_DEMO_CONFIRM": "true",
            "SITE_URL": self.web_url,
            "NFT_METADATA_BASE_URL": f"{self.web_url}/nft/metadata",
            "SIWE_DOMAIN": f"127.0.0.1:{self.web_port}",
            "SIWE_URI": self.web_url,
            "WS_PUBLIC_URL": self.ws_url,
            "WS_COALESCE_WINDOW_MS": "100",
            "WS_DASHBOARD_INTERVAL_MS": "300",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
        }

    def spawn(self, name: str, *cmd: "str | Path") -> None:
        log = open(LOG_DIR / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.logs[name] = log
        self.procs[name] = subprocess.Popen(
            [str(c) for c in cmd],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() kills workers and children too
        )

    def manage(self, name: str, *args: str) -> None:
        self.spawn(name, sys.executable, str(ROOT / "manage.py"), *args)

    def start(self) -> "Stack":
        self._flush_celery_queue()
        self._start_chain_and_topics(topics_timeout=120)
        self.spawn("web", *web_command(port=self.web_port, workers=1))
        self.spawn(
            "ws", VENV_BIN / "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
            "--port", str(self.ws_port), "--no-access-log",
        )  # fmt: skip
        self.manage("relay", "relay_outbox")
        self.manage("saga", "consume", "saga")
        self.manage("nft", "consume", "nft")
        self.manage("fulfilment", "consume", "fulfilment")
        self.manage("projector", "project_live")
        self._start_worker_and_chainwatch()
        self._wait_ready()
        return self

    def _start_chain_and_topics(self, *, topics_timeout: float) -> None:
        """anvil with 1 s blocks (mints confirm without anyone mining by hand), then the Kafka topics."""
        self.spawn(
            "anvil", anvil_binary(), "--host", "127.0.0.1", "--port", str(self.chain_port),
            "--chain-id", str(settings.CHAIN_ID), "--prune-history", "64", "--block-time", "1",
        )  # fmt: skip
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "kafka_topics", "--apply"],
            cwd=ROOT, env=self.env(), check=True, capture_output=True, timeout=topics_timeout,
        )  # fmt: skip

    def _start_worker_and_chainwatch(self) -> None:
        self.spawn(
            "worker", VENV_BIN / "celery", "-A", "config", "worker", "--loglevel", "WARNING",
            "--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle",
        )  # fmt: skip
        self.manage("chainwatch", "watch_chain")

    def _flush_celery_queue(self) -> None:
        import redis

        redis.Redis.from_url(self.env()["CELERY_BROKER_URL"]).flushdb()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        pending = {"web", "ws", "anvil"}
        while pending:
            self.check_alive()
            if "anvil" in pending and _port_open(self.chain_port):
                pending.discard("anvil")
            if "ws" in pending and _port_open(self.ws_port):
                pending.discard("ws")
            if "web" in pending:
                try:
                    with urllib.request.urlopen(f"{self.web_url}/healthz", timeout=2) as r:
                        if r.status == 200:
                            pending.discard("web")
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"stack not ready after {START_TIMEOUT}s: {sorted(pending)} (logs in {LOG_DIR})"
                )
            time.sleep(0.3)

    def log_tails(self, chars: int = 1500) -> str:
        """The end of each process's log (printed when a test on this stack failed)."""
        parts = []
        for name in self.procs:
            text = (LOG_DIR / f"{name}.log").read_text(errors="replace")[-chars:].strip()
            parts.append(f"----- {name} ({LOG_DIR / name}.log) -----\n{text or '(empty)'}")
        return "\n".join(parts)

    def check_alive(self) -> None:
        """Fail fast (with the log tail) when a process of the stack died."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (LOG_DIR / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"stack process {name!r} exited with {proc.returncode}:\n{tail}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        for log in self.logs.values():
            log.close()
        self._wait_sessions_gone()

    def _wait_sessions_gone(self, timeout: float = 10.0) -> None:
        """Killed processes' PostgreSQL sessions end a moment later; the test database is dropped after us."""
        deadline = time.monotonic() + timeout
        with connection.cursor() as cur:
            while time.monotonic() < deadline:
                cur.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                if cur.fetchone()[0] == 0:
                    return
                time.sleep(0.2)
