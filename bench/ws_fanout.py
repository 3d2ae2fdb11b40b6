"""Fan-out benchmark: N real WebSocket clients on one drop while M reservations run.

Prints one JSON document: for the mintdrop path (reservation commit -> outbox -> relay -> Kafka ->
projector (coalescing) -> Redis channel layer -> ASGI hub -> sockets) and, measured in the same
run with the same client processes, a bare `websockets` server broadcasting frames of the same
size at the same cadence (the raw fan-out floor): the share of clients that reached the final
state (sold out), p50/p99/max latency from the change to its arrival, frames per socket, and
server CPU. Loopback only; bounded in sockets, reservations and time.

    .venv/bin/python bench/ws_fanout.py --sockets 2000 --reservations 3000

It uses its own database (`<db>_bench_ws`, migrated on first use) and Kafka/Redis namespace, so
it never disturbs a running dev stack (the relay holds a per-database lock).
"""

import argparse
import asyncio
import importlib
import inspect
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLK = os.sysconf("SC_CLK_TCK")

from ws_clients import pct, ready_on_snapshot, run_client_pool, start_client_pools  # noqa: E402 (bench/ is sys.path[0])


# --- client worker (a subprocess): connects, reports, measures --------------------------------
async def _client(url: str, out: dict[str, Any], sem: asyncio.Semaphore, deadline: float) -> None:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    async with sem:  # connect in waves: a burst of thousands of handshakes would time out
        ws = await connect(url, origin=Origin("http://127.0.0.1"), compression=None, open_timeout=120,
                           max_queue=None, ping_interval=None)  # fmt: skip
    counted = not ready_on_snapshot()
    if counted:
        out["connected"] += 1
    async with ws:
        frames = 0
        async for raw in ws:
            now = time.time()
            doc = json.loads(raw)
            if not counted and doc["type"] == "snapshot":
                counted = True
                out["connected"] += 1
            if doc["type"] != "stock":
                continue
            frames += 1
            out["latencies"].append(now - datetime.fromisoformat(doc["at"]).timestamp())
            # From the projector's publish (raw baseline: from the broadcast) to arrival: the fan-out part.
            out["fanout"].append(now - datetime.fromisoformat(doc.get("published_at", doc["at"])).timestamp())
            if doc["sold_out"] or min(s["available"] for s in doc["skus"]) == 0:
                out["final"] += 1
                break
            if time.monotonic() > deadline:
                break
        out["frames"].append(frames)


async def _worker(url: str, count: int, timeout: float) -> None:
    out: dict[str, Any] = {"connected": 0, "final": 0, "latencies": [], "fanout": [], "frames": []}
    await run_client_pool(_client, url, out, count, timeout)


# --- raw baseline server (a subprocess): websockets.broadcast of same-sized frames ------------
async def _raw_server(port: int, sockets: int, frames: int, interval: float, size: int) -> None:
    from websockets.asyncio.server import broadcast, serve

    conns: set[Any] = set()

    async def handler(ws: Any) -> None:
        conns.add(ws)
        try:
            await ws.wait_closed()
        finally:
            conns.discard(ws)

    # backlog as the ws processes' listeners (realtime/ws/serve.py): with asyncio's default of 100 a
    # burst of thousands of connects to a busy process overflowed it and was refused.
    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, backlog=4096):
        while len(conns) < sockets:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        pad = "x" * size
        for i in range(frames):
            last = i == frames - 1
            doc = {"type": "stock", "seq": i + 1, "stream": "drop.1", "drop_id": 1, "at": datetime.now().astimezone().isoformat(),
                   "skus": [{"sku_id": 1, "available": 0 if last else frames - i}], "sold_out": last, "pad": pad}  # fmt: skip
            broadcast(conns, json.dumps(doc, separators=(",", ":")))
            await asyncio.sleep(interval)
        await asyncio.sleep(30)


# --- mintdrop's publish floor: the raw floor's frames, published the way the projector publishes ---
async def _publish_frames(drop_id: int, frames: int, interval: float) -> None:
    """`frames` stock frames of drop `drop_id`, one per `interval`, through `store.broadcast` (the
    projector's publish: resume buffer, then the channel layer's group), numbered after the stream's head."""
    from channels.layers import get_channel_layer

    from realtime.ws import frames as frame_kinds
    from realtime.ws import store
    from realtime.ws.coalesce import PendingStock

    layer = get_channel_layer()
    await asyncio.sleep(1.0)  # as the raw server: a second after the last client connected
    head = await store.head(f"drop.{drop_id}")
    for i in range(frames):
        last = i == frames - 1
        counters = {
            "offered": frames,
            "reserved": i + 1,
            "sold": 0,
            "available": 0 if last else frames - i - 1,
        }
        entry = PendingStock(drop_id=drop_id, seq=head + i + 1, at=datetime.now().astimezone().isoformat(),
                             skus={1: counters}, sold_out=last)  # fmt: skip
        await store.broadcast(layer, [frame_kinds.stock_frame(entry)])
        await asyncio.sleep(interval)


def publish_floor(
    args: argparse.Namespace, port: int, ws: list[subprocess.Popen[bytes]], drop_id: int
) -> dict[str, Any]:
    """Fan-out only, under the raw floor's and Centrifugo's conditions (the same 50 frames at 10/s,
    nothing else running): publish -> channel layer -> hub -> sockets, watchers of another drop."""
    cpu: dict[str, float] = {}

    def start() -> None:
        cpu["ws"] = total_cpu(ws)
        threading.Thread(target=asyncio.run, args=(_publish_frames(drop_id, args.raw_frames, 0.1),)).start()

    url = f"ws://127.0.0.1:{port}/ws/drops/{drop_id}/"
    result = run_clients(url, args.sockets, args.client_workers, args.timeout, start, args.client_impl,
                         ready_on_snapshot=True)  # fmt: skip
    result["server_cpu_s"] = round(total_cpu(ws) - cpu["ws"], 2)
    result["server_cpu_per_frame_us"] = per_frame_us(result["server_cpu_s"], result.get("frames_delivered"))
    return result


# --- orchestration ----------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and its live descendants (uvicorn --workers N runs the work in children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / CLK
    return own + sum(cpu_seconds(int(child)) for child in children)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_clients(
    url: str,
    sockets: int,
    workers: int,
    timeout: float,
    start: Any,
    impl: str,
    mode: str = "drop",
    *,
    ready_on_snapshot: bool = False,
) -> dict[str, Any]:
    """Start client workers, wait until all are connected, call `start()`, then gather results."""
    procs = start_client_pools(
        mode, url, sockets, workers, timeout, impl, ready_on_snapshot=ready_on_snapshot
    )
    t0 = time.monotonic()
    ready = sum(json.loads(p.stdout.readline() or '{"ready": 0}')["ready"] for p in procs)  # type: ignore[union-attr]
    connect_s = time.monotonic() - t0
    start()
    results = [json.loads(p.stdout.readline() or "{}") for p in procs]  # type: ignore[union-attr]
    for p in procs:
        p.wait(30)
    latencies = [x for r in results for x in r.get("latencies") or []]
    fanout = [x for r in results for x in r.get("fanout") or []]
    frames = [x for r in results for x in r.get("frames") or []]
    return {
        "connected": ready,
        "connect_s": round(connect_s, 1),
        "final_delivery_ratio": round(sum(r.get("final", 0) for r in results) / sockets, 4),
        "latency_ms": {
            "p50": pct(latencies, 0.5),
            "p99": pct(latencies, 0.99),
            "max": pct(latencies, 1.0),
            "samples": len(latencies),
        },
        "fanout_latency_ms": {"p50": pct(fanout, 0.5), "p99": pct(fanout, 0.99), "max": pct(fanout, 1.0)},
        "frames_delivered": sum(frames),
        "frames_per_socket": {
            "mean": round(statistics.mean(frames), 1) if frames else None,
            "max": max(frames) if frames else None,
        },
        "client_errors": [e for r in results for e in r.get("errors", [])][:3],
        "client_dial_retries": sum(r.get("dial_retries", 0) for r in results),
        "client_cpu_s": round(sum(r.get("cpu_s", 0.0) for r in results), 2),
    }


def setup_database(env: dict[str, str]) -> None:
    """Create and migrate the benchmark's own database once."""
    import psycopg

    base = os.environ.get("DATABASE_URL", "postgres://mintdrop:mintdrop@127.0.0.1:55432/mintdrop")
    name = base.rsplit("/", 1)[1] + "_bench_ws"
    env["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(base, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


# Modes other than "drop" live in modules of their own (bench/ is sys.path[0]). Each provides
# `run(args, env, port, pct, *, on_ready=None) -> dict` (the mintdrop figures; call on_ready() once
# every client is connected, so the ws server's CPU is counted from there, as in drop mode; the dict
# should hold "frames_delivered", frames read by all clients, for the CPU per frame) and may provide
# `add_arguments(parser)` for options of its own and `environ(args) -> dict` for settings the ws
# processes need.
MODES = {"drop": None, "show": "ws_fanout_show", "auction": "ws_fanout_auction"}


def mode_module(name: str) -> Any:
    module = MODES[name]
    if module is None:
        return None
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise SystemExit(f"--mode {name} needs bench/{module}.py") from None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--reservations", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=4, help="reservation threads")
    parser.add_argument(
        "--reserve-rate", type=float, default=0.0,
        help="drop mode: reservations per second in all, open loop (each at its scheduled time); "
        "0 = as fast as the threads go (closed loop, the default)",
    )  # fmt: skip
    parser.add_argument("--client-workers", type=int, default=2)
    parser.add_argument("--client-impl", choices=("go", "python"), default="go" if shutil.which("go") else "python",
                        help="client pool: Go (bench/wsclient, light on CPU) or the Python websockets pool")  # fmt: skip
    parser.add_argument("--ws-processes", "--asgi-workers", dest="ws_processes", type=int, default=1,
                        help="ws processes sharing one port (SO_REUSEPORT, realtime/ws/serve.py)")  # fmt: skip
    parser.add_argument("--raw-frames", type=int, default=50, help="baseline broadcasts, one per 100 ms")
    parser.add_argument("--no-publish-floor", action="store_true",
                        help="skip the phase that publishes the raw floor's frames through store.broadcast")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=240.0, help="bound per phase, seconds")
    parser.add_argument(
        "--server-profile", metavar="DIR", help="cProfile each ws process into DIR/ws-<i>.prof"
    )
    parser.add_argument("--centrifugo", choices=("auto", "on", "off"), default="auto",
                        help="also measure Centrifugo (built with go install; auto: when Go is there)")  # fmt: skip
    # Show mode (bench/ws_fanout_show.py): viewers on a live show, chat at a steady rate, a flash drop selling out.
    parser.add_argument("--mode", choices=tuple(MODES), default="drop")
    parser.add_argument("--chat-rate", type=float, default=20.0, help="show mode: chat messages per second")
    parser.add_argument("--flash-units", type=int, default=1000, help="show mode: units of the flash drop")
    known, _rest = parser.parse_known_args()
    module = mode_module(known.mode)
    if module is not None and hasattr(module, "add_arguments"):
        module.add_arguments(parser)
    return parser.parse_args()


def start_ws_processes(
    n: int, port: int, env: dict[str, str], logs: Any, profile_dir: str | None
) -> list[Any]:
    """`n` ws processes on one port (realtime/ws/serve.py: SO_REUSEPORT), as the Procfile's `ws` x n."""
    procs = []
    for i in range(n):
        cmd = [
            sys.executable,
            "-m",
            "realtime.ws.serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        if profile_dir:
            Path(profile_dir).mkdir(parents=True, exist_ok=True)
            cmd += ["--profile", str(Path(profile_dir) / f"ws-{i}.prof")]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=logs, stderr=logs))
    deadline = time.monotonic() + 600  # Django set-up on a box shared by a test suite can take minutes
    while listeners(port) < n:
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            for p in procs:
                p.kill()
            raise SystemExit("the ws processes did not all listen; see .local/bench_ws.log")
        time.sleep(0.2)
    return procs


def listeners(port: int) -> int:
    """Sockets listening on 127.0.0.1:`port` (one per reuse-port ws process), from /proc/net/tcp."""
    local = f"0100007F:{port:04X}"
    rows = [row.split() for row in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == local and row[3] == "0A")


def total_cpu(procs: list[Any]) -> float:
    return sum(cpu_seconds(p.pid) for p in procs)


def per_frame_us(cpu_s: float | None, frames: float | None) -> float | None:
    return round(1e6 * cpu_s / frames, 1) if cpu_s is not None and frames else None


def main() -> None:
    args = parse_args()
    module = mode_module(args.mode)
    if args.mode == "auction":  # its own servers and clients (bench/ws_fanout_auction.py)
        print(json.dumps(module.run(args), indent=2))
        return
    if args.mode == "show":
        # The chat driver posts from a handful of accounts: lift the per-user limit for the run.
        os.environ["SHOWS_CHAT_RATE_LIMIT"] = "1000000"
    if module is not None and hasattr(module, "environ"):
        os.environ.update(module.environ(args))
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the clients and servers
    if hard < args.sockets + 1000:
        raise SystemExit(f"the open-file limit ({hard}) is below --sockets + 1000: raise `ulimit -Hn`")

    prefix = f"bench.{uuid.uuid4().hex[:8]}."
    env = {**os.environ, "KAFKA_TOPIC_PREFIX": prefix, "LOG_LEVEL": "WARNING", "DJANGO_DEBUG": "false"}
    setup_database(env)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "KAFKA_TOPIC_PREFIX", "DJANGO_DEBUG")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.utils import timezone

    from commerce.services import catalog, drops
    from commerce.services.reservations import reserve_stock
    from realtime.topic_admin import ensure_topics

    ensure_topics()
    tag = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(username=f"bench-owner-{tag}")
    merchant = catalog.create_merchant(name="Bench", slug=f"bench-{tag}", owner=owner)
    sku = catalog.create_product(merchant_id=merchant.pk, kind="physical", title="Bench tee",
                                 skus=[catalog.SkuSpec(code="B", price=100)]).skus.get()  # fmt: skip
    drop = drops.create_drop(merchant_id=merchant.pk, title="Bench", starts_at=timezone.now() - timedelta(seconds=1),
                             per_buyer_limit=args.reservations, items=[drops.DropItemSpec(sku_id=sku.pk, quantity=args.reservations)])  # fmt: skip
    drops.start_drop(drop_id=drop.pk)
    # Watched in the publish floor phase (its frames come from the bench, not from reservations).
    floor_drop = drops.create_drop(merchant_id=merchant.pk, title="Bench floor", starts_at=timezone.now() - timedelta(seconds=1),
                                   per_buyer_limit=1, items=[drops.DropItemSpec(sku_id=sku.pk, quantity=1)])  # fmt: skip
    drops.start_drop(drop_id=floor_drop.pk)
    buyers = [User.objects.create_user(username=f"bench-{tag}-{i}").pk for i in range(args.threads)]

    report: dict[str, Any] = {"mode": args.mode, "sockets": args.sockets, "reservations": args.reservations,
                              "ws_processes": args.ws_processes, "client_workers": args.client_workers,
                              "client_impl": args.client_impl, "load_average_start": load_average(),
                              "reserve_rate_target": args.reserve_rate or "closed loop"}  # fmt: skip
    children: list[subprocess.Popen[bytes]] = []
    try:
        # Raw floor first: same clients, frames of the same size, one per 100 ms.
        raw_port = free_port()
        raw = subprocess.Popen(
            [sys.executable, __file__, "--raw", str(raw_port), str(args.sockets), str(args.raw_frames)]
        )
        children.append(raw)
        time.sleep(1.0)
        raw_marks: dict[str, float] = {}

        def raw_ready() -> None:  # the broadcasts start a second after the last client connected
            raw_marks["cpu"] = cpu_seconds(raw.pid)

        report["raw_websockets"] = raw_result = run_clients(f"ws://127.0.0.1:{raw_port}/", args.sockets,
                                                            args.client_workers, args.timeout, raw_ready,
                                                            args.client_impl)  # fmt: skip
        raw_result["server_cpu_s"] = round(cpu_seconds(raw.pid) - raw_marks.get("cpu", 0.0), 2)
        raw_result["server_cpu_per_frame_us"] = per_frame_us(
            raw_result["server_cpu_s"], raw_result["frames_delivered"]
        )
        raw.kill()

        port = free_port()
        logs = open(ROOT / ".local" / "bench_ws.log", "ab")  # noqa: SIM115
        for cmd in (["manage.py", "relay_outbox"], ["manage.py", "project_live"]):
            children.append(
                subprocess.Popen([sys.executable, *cmd], cwd=ROOT, env=env, stdout=logs, stderr=logs)
            )
        projector = children[-1]
        ws = start_ws_processes(args.ws_processes, port, env, logs, args.server_profile)
        children.extend(ws)
        marks: dict[str, float] = {}

        if module is not None:

            def on_ready() -> None:
                marks["cpu_ws"], marks["t0"] = total_cpu(ws), time.monotonic()

            run = module.run
            kwargs = {"on_ready": on_ready} if "on_ready" in inspect.signature(run).parameters else {}
            marks["cpu_ws"], marks["t0"] = total_cpu(ws), time.monotonic()
            result = run(args, env, port, pct, **kwargs)
        else:

            def reserve_all() -> None:
                def run(buyer_id: int, count: int, lane: int) -> None:
                    for k in range(count):
                        if args.reserve_rate > 0:  # open loop: the k-th of this lane leaves at its time
                            due = marks["t0"] + (k * args.threads + lane) / args.reserve_rate
                            time.sleep(max(0.0, due - time.monotonic()))
                        reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=buyer_id, quantity=1)

                per = args.reservations // args.threads
                counts = [
                    per + (args.reservations - per * args.threads if i == 0 else 0)
                    for i in range(args.threads)
                ]
                threads = [
                    threading.Thread(target=run, args=(b, n, lane))
                    for lane, (b, n) in enumerate(zip(buyers, counts, strict=True))
                ]
                marks["cpu_ws"], marks["cpu_proj"], marks["t0"] = (
                    total_cpu(ws),
                    cpu_seconds(projector.pid),
                    time.monotonic(),
                )
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                marks["t1"] = time.monotonic()

            url = f"ws://127.0.0.1:{port}/ws/drops/{drop.pk}/"
            driver = threading.Thread(target=reserve_all)
            result = run_clients(url, args.sockets, args.client_workers, args.timeout, driver.start,
                                 args.client_impl, ready_on_snapshot=True)  # fmt: skip
            driver.join()
            result["reservation_rate_per_s"] = round(args.reservations / (marks["t1"] - marks["t0"]), 1)
            result["projector_cpu_s"] = round(cpu_seconds(projector.pid) - marks["cpu_proj"], 2)
        wall = time.monotonic() - marks["t0"]
        result["server_cpu_s"] = round(total_cpu(ws) - marks["cpu_ws"], 2)
        result["server_cpu_pct"] = round(100 * result["server_cpu_s"] / wall, 1)
        result["server_cpu_per_frame_us"] = per_frame_us(
            result["server_cpu_s"], result.get("frames_delivered")
        )
        report["mintdrop"] = result
        report.update(ratios(raw_result, result))
        if not args.no_publish_floor:
            floor = publish_floor(args, port, ws, floor_drop.pk)
            report["mintdrop_publish_floor"] = floor | ratios(raw_result, floor)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
    if args.centrifugo != "off":
        from ws_centrifugo import measure as centrifugo

        report["centrifugo"] = centrifugo(args, required=args.centrifugo == "on")
        if "latency_ms" in report["centrifugo"]:
            report["centrifugo"].update(ratios(report["raw_websockets"], report["centrifugo"]))
    report["load_average"] = load_average()
    print(json.dumps(report, indent=2))


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def ratios(raw: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """p99 and CPU per delivered frame against the raw broadcast of the same run (goal: <= 1.5x, <= 2x)."""
    raw_p99 = raw["latency_ms"]["p99"]
    out: dict[str, Any] = {}
    for name in ("latency_ms", "fanout_latency_ms", "chat_latency_ms"):
        p99 = (result.get(name) or {}).get("p99")
        key = "p99_ratio_vs_raw" if name == "latency_ms" else f"{name.removesuffix('_ms')}_p99_ratio_vs_raw"
        if name in result:
            out[key] = round(p99 / raw_p99, 2) if raw_p99 and p99 else None
    raw_cpu, cpu = raw.get("server_cpu_per_frame_us"), result.get("server_cpu_per_frame_us")
    out["cpu_per_frame_ratio_vs_raw"] = round(cpu / raw_cpu, 2) if raw_cpu and cpu else None
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--chat-driver":
        from ws_fanout_show import chat_driver

        chat_driver(int(sys.argv[2]), [int(u) for u in sys.argv[3].split(",")], float(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--show-client":
        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        from ws_fanout_show import worker

        asyncio.run(worker(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--client":
        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        asyncio.run(_worker(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--raw":
        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        asyncio.run(
            _raw_server(int(sys.argv[2]), int(sys.argv[3]), frames=int(sys.argv[4]), interval=0.1, size=120)
        )
    else:
        main()
