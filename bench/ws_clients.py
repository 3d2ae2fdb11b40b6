"""The client side of bench/ws_fanout.py, shared by its drop and show modes.

Client processes (the Go pool in bench/wsclient, or the Python asyncio pool: `ws_fanout.py
--client` / `--show-client`), the loop each Python client process runs, and percentiles. A module
of its own so that ws_fanout.py (drop mode, orchestration) and ws_fanout_show.py (show mode) both
import it and not each other.
"""

import asyncio
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENTRY = Path(__file__).with_name("ws_fanout.py")  # the script whose --client / --show-client run a pool


async def run_client_pool(client: Any, url: str, out: dict[str, Any], count: int, timeout: float) -> None:
    """In a client subprocess: run `count` clients, print {"ready": n} once connected, then `out`, exit.

    `client(url, out, sem, deadline)` is one socket's coroutine (drop watcher or show viewer).
    """
    deadline = time.monotonic() + timeout
    sem = asyncio.Semaphore(50)

    async def one() -> None:
        try:
            await client(url, out, sem, deadline)
        except Exception as exc:
            out.setdefault("errors", []).append(repr(exc)[:200])

    tasks = [asyncio.ensure_future(one()) for _ in range(count)]
    while out["connected"] < count and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    print(json.dumps({"ready": out["connected"]}), flush=True)
    await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
    out["errors"] = out.get("errors", [])[:5]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_s"] = usage.ru_utime + usage.ru_stime  # the clients share the 2 cores with the server
    print(json.dumps(out), flush=True)
    os._exit(0)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


@functools.cache
def go_client() -> str | None:
    """Build the Go client pool (bench/wsclient) once per run; None when there is no Go toolchain."""
    if not shutil.which("go"):
        return None
    binary = ROOT / ".local" / "bench" / "wsclient"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=ROOT / "bench" / "wsclient", check=True)
    return str(binary)


def start_client_pools(
    mode: str,
    url: str,
    sockets: int,
    workers: int,
    timeout: float,
    impl: str,
    *,
    ready_on_snapshot: bool = False,
    env: dict[str, str] | None = None,
) -> list[subprocess.Popen[str]]:
    """Start `workers` client processes sharing `sockets` sockets; each prints {"ready": n}, then results.

    impl "go" (bench/wsclient) measures with a fraction of the Python pool's CPU, which otherwise
    competes with the server on the same 2 cores; "python" runs `run_client_pool` (same output).
    `ready_on_snapshot`: a socket counts as connected once its first snapshot arrived, i.e. once the
    server's work for the connect is done (mintdrop's servers; the raw floor sends no snapshot), so
    the server CPU counted from "all connected" is the frames' and not the tail of the connect burst.
    """
    per = [sockets // workers + (1 if i < sockets % workers else 0) for i in range(workers)]
    if impl == "go":
        binary = go_client()
        if binary is None:
            raise SystemExit("--client-impl go needs the go toolchain (or use --client-impl python)")
        argv = [binary, mode]
    else:
        argv = [sys.executable, str(ENTRY), "--client" if mode == "drop" else "--show-client"]
    child_env = {
        **os.environ,
        **(env or {}),
        "WSCLIENT_READY": "snapshot" if ready_on_snapshot else "handshake",
    }
    return [
        subprocess.Popen([*argv, url, str(n), str(timeout)], stdout=subprocess.PIPE, text=True, env=child_env)
        for n in per
    ]


def ready_on_snapshot() -> bool:
    """In a Python client process: count a socket as connected at its first snapshot (see start_client_pools)."""
    return os.environ.get("WSCLIENT_READY") == "snapshot"
