"""Every mintdrop process kind as real children, each restartable after a kill -9 (tests/frontend/stack.py's
`Stack`, widened): web (granian, 2 workers, failed workers respawned), two ws processes on one port,
the relay, two saga consumers (so a consumer cut off has a sibling to take its partitions), nft,
fulfilment, notify, sales, the live projector, a Celery worker and chainwatch, on a private anvil with
1 s blocks. Everything runs under `nice` and talks to 127.0.0.1 only.

Its listening ports (web, ws, anvil) are taken below the kernel's ephemeral range, like the cluster's and
the private PostgreSQL's: a process the run kills must be able to bind its port again however many
clients are reconnecting to it meanwhile (tests/chaos/cluster.py `ephemeral_floor`).
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from config.web_command import web_command
from tests.chaos.cluster import ephemeral_floor
from tests.frontend.stack import ROOT, Stack, _port_open

CHAOS_REDIS_DB = 14  # this suite's Celery broker database (the e2e stack uses 11)
LOG_DIR = ROOT / "artifacts" / "chaos-logs"
# The stack's own listeners: free ports from here up (below the cluster's 29492 and PostgreSQL's 29432).
STACK_PORTS_FROM = int(os.environ.get("CHAOS_STACK_PORT", "29400"))


def low_free_ports(n: int, start: int = STACK_PORTS_FROM) -> list[int]:
    """`n` ports from `start` up that nothing listens on now, all below the ephemeral range."""
    found: list[int] = []
    for port in range(start, start + 32):
        if port >= ephemeral_floor():
            break
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == n:
            return found
    raise RuntimeError(f"no {n} free ports from {start} below the ephemeral range")


class ChaosStack(Stack):
    def __init__(self, extra_env: dict[str, str] | None = None, sagas: int = 2) -> None:
        super().__init__()
        self.web_port, self.ws_port, self.chain_port = low_free_ports(3)
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self.ws_url = f"ws://127.0.0.1:{self.ws_port}"
        self.chain_url = f"http://127.0.0.1:{self.chain_port}"
        self.extra_env = extra_env or {}
        self.sagas = sagas
        self.proc_env: dict[str, dict[str, str]] = {}  # per-process overrides (e.g. an armed crash point)
        self.commands: dict[str, list[str]] = {}
        LOG_DIR.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        env = super().env()
        redis_base = env["CELERY_BROKER_URL"].rsplit("/", 1)[0]
        env["CELERY_BROKER_URL"] = f"{redis_base}/{CHAOS_REDIS_DB}"
        env["METRICS_PORT_BASE"] = "off"
        env["DJANGO_DEBUG"] = "false"
        env["NFT_POLL_INTERVAL_SECONDS"] = "0.5"
        return {**env, **self.extra_env}

    def spawn(self, name: str, *cmd: "str | Path") -> None:
        argv = ["nice", "-n", "5", *[str(c) for c in cmd]]
        self.commands[name] = argv
        self._launch(name)

    def _launch(self, name: str) -> None:
        log = open(LOG_DIR / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        old = self.logs.pop(name, None)
        if old is not None:
            old.close()
        self.logs[name] = log
        self.procs[name] = subprocess.Popen(
            self.commands[name], cwd=ROOT, env={**self.env(), **self.proc_env.get(name, {})}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def start(self) -> "ChaosStack":
        for f in LOG_DIR.glob("*.log"):
            f.unlink()
        self._flush_celery_queue()
        self._start_chain_and_topics(topics_timeout=180)
        respawn = ("--respawn-failed-workers", "--respawn-interval", "1")
        self.spawn("web", *web_command(port=self.web_port, extra=respawn))
        for i in range(2):
            self.spawn(
                f"ws-{i}", sys.executable, "-m", "realtime.ws.serve", "--host", "127.0.0.1",
                "--port", str(self.ws_port), "--log-level", "warning",
            )  # fmt: skip
        self.manage("relay", "relay_outbox")
        for i in range(self.sagas):
            self.manage(f"saga-{i}", "consume", "saga")
        for group in ("nft", "fulfilment", "notify", "sales"):
            self.manage(group, "consume", group)
        self.manage("projector", "project_live")
        self._start_worker_and_chainwatch()
        self._wait_ready()
        return self

    # --- faults -------------------------------------------------------------------------------
    def kill9(self, name: str) -> None:
        """SIGKILL the process group of `name` (no clean-up, like a power cut of that process)."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def restart(self, name: str, env: dict[str, str] | None = None) -> None:
        if env is not None:
            self.proc_env[name] = env
        self._launch(name)

    def kill_web_worker(self) -> int:
        """SIGKILL one granian worker (a child of the web server); granian respawns it. Returns its pid."""
        children = _children(self.procs["web"].pid)
        # `nice` execs granian, so the pid is granian's; its workers are its children.
        if not children:
            raise RuntimeError("web server has no worker to kill")
        victim = children[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def sigstop(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGSTOP)

    def sigcont(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGCONT)

    def stop(self) -> None:
        # A process a fault left stopped (SIGSTOP) cannot act on SIGTERM: wake everything first.
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGCONT)
        super().stop()

    def web_up(self) -> bool:
        return _port_open(self.web_port)

    def dead(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is not None]


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return sorted(out)


def wait_until(predicate: "object", timeout: float, step: float = 0.5) -> bool:
    """Poll `predicate()` until true or `timeout` s pass (a bound); returns whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(step)
    return bool(predicate())  # type: ignore[operator]
