"""The fan-out peer in bench/ws_fanout.py: Centrifugo (Go), same clients, same frames, same run.

Centrifugo v6.9.1 is built from its Go module with `go install` (once; the binary is kept in
.local/bench/) and started with a throw-away config: anonymous clients (`client.insecure`), one
channel, the HTTP API on the same port. The Go client pool (bench/wsclient, mode `centrifugo`)
connects N sockets, each sends the connect and subscribe commands of Centrifugo's JSON protocol;
once all are subscribed the bench publishes `--raw-frames` drop-mode stock frames through the HTTP
API at 10/s (the raw floor's cadence and size), stamped at publish time, the last one sold out.
Measured as the raw floor is: latency publish -> client, frames delivered, server CPU from the
moment every client was ready. No Go toolchain (or `--client-impl python`): {"skipped": why}.
"""

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODULE = "github.com/centrifugal/centrifugo/v6"
VERSION = "v6.9.1"
API_KEY = "bench-api-key"


def build() -> Path | None:
    """The centrifugo binary of VERSION (built with `go install` on first use); None without Go."""
    target = ROOT / ".local" / "bench" / f"centrifugo-{VERSION}"
    binary = target / "centrifugo"
    if binary.exists():
        return binary
    if not shutil.which("go"):
        return None
    target.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(target), "GOFLAGS": "-buildvcs=false"}
    subprocess.run(["go", "install", f"{MODULE}@{VERSION}"], env=env, check=True, timeout=1800)
    return binary


def _publisher(port: int, frames: int, marks: dict[str, float], cpu: Any) -> None:
    """Publish `frames` stock frames at 10/s through the HTTP API, a second after every client is ready."""
    marks["cpu"] = cpu()
    time.sleep(1.0)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    pad = "x" * 120
    for i in range(frames):
        last = i == frames - 1
        data = {"type": "stock", "seq": i + 1, "stream": "drop.1", "drop_id": 1,
                "at": datetime.now().astimezone().isoformat(),
                "skus": [{"sku_id": 1, "available": 0 if last else frames - i}], "sold_out": last, "pad": pad}  # fmt: skip
        body = json.dumps({"channel": "bench", "data": data}, separators=(",", ":"))
        conn.request("POST", "/api/publish", body, {"X-API-Key": API_KEY, "Content-Type": "application/json"})
        conn.getresponse().read()
        time.sleep(0.1)
    conn.close()


def measure(args: Any, *, required: bool) -> dict[str, Any]:
    """Centrifugo's figures for `args.sockets` sockets, or {"skipped": why} (SystemExit if `required`)."""
    from ws_fanout import cpu_seconds, free_port, per_frame_us, run_clients

    def skipped(why: str) -> dict[str, Any]:
        if required:
            raise SystemExit(f"centrifugo: {why}")
        print(f"centrifugo: skipped ({why})", file=sys.stderr)
        return {"skipped": why}

    if args.client_impl != "go":
        return skipped("its client protocol is only in the Go client pool (--client-impl go)")
    try:
        binary = build()
    except (subprocess.SubprocessError, OSError) as exc:
        return skipped(f"go install {MODULE}@{VERSION} failed: {exc}")
    if binary is None:
        return skipped("no Go toolchain")
    port = free_port()
    config = {
        "client": {"insecure": True, "allowed_origins": ["*"]},
        "http_api": {"key": API_KEY},
        "http_server": {"address": "127.0.0.1", "port": port},
        "log": {"level": "error"},
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(config))
        server = subprocess.Popen([str(binary), "--config", str(path)], cwd=tmp,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while not _answers(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    return skipped("the server did not start")
                time.sleep(0.2)
            marks: dict[str, float] = {}

            def start() -> None:
                threading.Thread(
                    target=_publisher, args=(port, args.raw_frames, marks, lambda: cpu_seconds(server.pid))
                ).start()

            result = run_clients(f"ws://127.0.0.1:{port}/connection/websocket", args.sockets,
                                 args.client_workers, args.timeout, start, "go", mode="centrifugo")  # fmt: skip
            result["server_cpu_s"] = round(cpu_seconds(server.pid) - marks.get("cpu", 0.0), 2)
            result["server_cpu_per_frame_us"] = per_frame_us(
                result["server_cpu_s"], result["frames_delivered"]
            )
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
    result["version"] = VERSION
    return result


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("POST", "/api/info", "{}", {"X-API-Key": API_KEY})
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False
