"""Backpressure (issue #19, item 4): a burst of events while one consumer group runs 10x slower.

Starts on loopback, against its own database and Kafka topic prefix: the web server (granian, as
the Procfile), one ws process, the relay, the live projector and the `sales` consumer group slowed
`--slowdown` times (each batch sleeps (factor - 1) x the time it took, after its commit: the
group's own work, ten times slower, as if its database were). Then:

1. `unloaded`: reservations at a fixed rate (`--rate`/s, open loop: each request leaves at its
   scheduled time whatever the previous ones did) on a drop of their own, for `--unloaded-seconds`;
2. `burst`: `--events` `inventory.sold` events (a flash sale recorded at once: 1,000 per
   transaction with `emit_many`, written by a separate process) on another drop that one WebSocket
   viewer watches, while the same reservation load goes on; until the slowed group's lag in Kafka
   is back to 0 (bounded by `--drain-timeout`).

Prints one JSON document: the reserve endpoint's p50/p99 unloaded and during the burst, split
into `while_writing` and `while_draining` (and the ratios; the issue's goal is p99 within 20 %),
the database's own commit floor in the same windows (`database_commit_floor`: a 1-row INSERT +
COMMIT at the same rate on a plain connection, what the burst's WAL does to any commit), the slowed group's lag in Kafka sampled every second
(peak, seconds to drain after the last event was written), the viewer's stock frames vs the stock
changes (coalesced, not queued) and whether its last frame carried the last counters, and the
sales read model's units vs the events (nothing lost or counted twice by the slowed group).

The burst's events are synthetic (no orders behind them): their counters are not mirrored in the
drop's stock rows, so only the viewer connected before the burst is compared with them.

    nice .venv/bin/python bench/backpressure.py [--events 50000] [--slowdown 10] [--rate 20]

tests/perf/test_backpressure.py runs `run()` small and asserts the correctness parts (never times).
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from config.web_command import web_command  # noqa: E402 (ROOT on sys.path first)

BURST_TX = 1000  # events per transaction of the burst writer
SLOW_GROUP = "sales"  # handles inventory.sold; the projector (frames) reads the same topic


# --- the processes ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Processes:
    env: dict[str, str]
    log_dir: Path
    procs: dict[str, "subprocess.Popen[bytes]"] = field(default_factory=dict)

    def spawn(
        self, name: str, *cmd: "str | Path", extra: dict[str, str] | None = None, nice: int = 0
    ) -> None:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - the child owns it
        self.procs[name] = subprocess.Popen(
            [str(c) for c in cmd], cwd=ROOT, env={**self.env, **(extra or {})}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_niced(nice),
        )  # fmt: skip
        log.close()

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _niced(value: int) -> Callable[[], None] | None:
    """A child's pre-exec hook lowering its CPU priority by `value` (None: as the parent)."""
    if not value:
        return None

    def lower() -> None:
        os.nice(value)

    return lower


def start_processes(
    env: dict[str, str],
    *,
    web_port: int,
    ws_port: int,
    slowdown: float,
    log_dir: Path,
    background_nice: int = 0,
) -> Processes:
    py = sys.executable
    ps = Processes(env, log_dir)
    ps.spawn("web", *web_command(port=web_port, extra=("--no-ws", "--log-level", "warning")))
    ps.spawn(
        "ws",
        py,
        "-m",
        "realtime.ws.serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(ws_port),
        "--log-level",
        "warning",
    )
    # The pipeline's processes, as the Procfile starts them (`BACKGROUND_NICE`): below the request path.
    ps.spawn("relay", py, ROOT / "manage.py", "relay_outbox", nice=background_nice)
    ps.spawn("projector", py, ROOT / "manage.py", "project_live", nice=background_nice)
    ps.spawn("slow-sales", py, __file__, "--slow-consumer", SLOW_GROUP, "--slowdown", str(slowdown),
             nice=background_nice)  # fmt: skip
    return ps


def wait_ready(ps: Processes, web_port: int, ws_port: int, timeout: float = 240) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    pending = {"web", "ws"}
    while pending:
        ps.check_alive()
        if "ws" in pending and port_open(ws_port):
            pending.discard("ws")
        if "web" in pending:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        pending.discard("web")
            except OSError:
                pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {timeout}s: {sorted(pending)} (logs in {ps.log_dir})")
        time.sleep(0.3)


def slow_consumer(group: str, factor: float) -> None:
    """The consumer runner of `group`, each batch (and each one-by-one retry) `factor` x slower."""
    import django

    django.setup()
    from realtime.consumer import ConsumerRunner

    def slowed(method: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: ConsumerRunner, *args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return method(self, *args)
            finally:  # after the commit: the effects are in, the group just takes longer
                time.sleep((factor - 1) * (time.perf_counter() - t0))

        return run

    ConsumerRunner._apply_batch = slowed(ConsumerRunner._apply_batch)  # type: ignore[method-assign]
    ConsumerRunner._apply_one = slowed(ConsumerRunner._apply_one)  # type: ignore[method-assign]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ConsumerRunner(group).run(stop=stop)


# --- data ---------------------------------------------------------------------------------------
def seed(*, buyers: int, load_units: int, burst_units: int) -> dict[str, Any]:
    """A merchant, one SKU on two live drops (the reservation load's and the burst's), buyers with tokens."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.utils import timezone

    from commerce.services import catalog, drops
    from commerce.services.tokens import issue_tokens_for_new_users
    from commerce.waiting_room import services as rooms

    tag = uuid.uuid4().hex[:6]
    owner = User.objects.create_user(username=f"bp-owner-{tag}", password="x" * 12)
    merchant = catalog.create_merchant(name="Backpressure", slug=f"bp-{tag}", owner=owner)
    sku = catalog.create_product(
        merchant_id=merchant.pk,
        kind="physical",
        title="Burst tee",
        skus=[catalog.SkuSpec(code=f"BP{tag}", price=1000)],
    ).skus.get()

    def live(title: str, units: int) -> int:
        drop = drops.create_drop(
            merchant_id=merchant.pk, title=title, starts_at=timezone.now(), per_buyer_limit=100_000,
            items=[drops.DropItemSpec(sku_id=sku.pk, quantity=units)],
        )  # fmt: skip
        # No waiting room (a drop of 1,000+ units gets one by default): the load reserves directly.
        rooms.configure(drop_id=drop.pk, merchant_id=merchant.pk, mode="off")
        drops.start_drop(drop_id=drop.pk)
        return drop.pk

    password = make_password("bench-password")
    users = User.objects.bulk_create(
        [User(username=f"bp-{tag}-{i}", password=password) for i in range(buyers)]
    )
    return {
        "merchant_id": merchant.pk,
        "sku_id": sku.pk,
        "load_drop": live("Reservation load", load_units),
        "burst_drop": live("Burst", burst_units),
        "tokens": issue_tokens_for_new_users(users=users),
    }


def burst_payload(i: int, *, drop_id: int, sku_id: int, merchant_id: int, offered: int) -> dict[str, Any]:
    """The i-th (0-based) sale of the burst: one unit; counters after it."""
    return {
        "drop_id": drop_id, "sku_id": sku_id, "reservation_id": str(uuid.UUID(int=i + 1)), "order_id": i + 1,
        "merchant_id": merchant_id, "quantity": 1, "unit_price": 1000, "currency": "usd",
        "offered": offered, "reserved": 0, "sold": i + 1, "available": offered - i - 1,
    }  # fmt: skip


def write_burst(n: int, drop_id: int, sku_id: int, merchant_id: int, offered: int) -> None:
    """The burst writer process: `n` inventory.sold events, BURST_TX per transaction, as fast as it can."""
    import django

    django.setup()
    from django.db import transaction

    from realtime.outbox import emit_many

    # Ready (Django imported and set up, a connection open), then wait for the go: the burst starts
    # at a known instant, not after an interpreter start-up that takes a minute on a loaded box.
    transaction.get_connection().ensure_connection()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    t0 = time.monotonic()
    for start in range(0, n, BURST_TX):
        with transaction.atomic():
            emit_many(
                ("inventory.sold", drop_id, burst_payload(i, drop_id=drop_id, sku_id=sku_id, merchant_id=merchant_id, offered=offered))
                for i in range(start, min(n, start + BURST_TX))
            )  # fmt: skip
    print(json.dumps({"written": n, "seconds": round(time.monotonic() - t0, 2)}), flush=True)


# --- load, viewer, lag --------------------------------------------------------------------------
@dataclass
class Sample:
    sent: float  # monotonic
    latency: float
    status: str


class ReserveLoad:
    """Reservations at a fixed rate (open loop) from a background event loop, until stopped."""

    def __init__(self, base: str, drop_id: int, sku_id: int, tokens: list[str], rate: float) -> None:
        self.base, self.drop_id, self.sku_id, self.tokens, self.rate = base, drop_id, sku_id, tokens, rate
        self.samples: list[Sample] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self._main()), daemon=True, name="reserve-load"
        )

    def start(self) -> "ReserveLoad":
        self.thread.start()
        return self

    async def _main(self) -> None:
        import aiohttp

        body = json.dumps({"drop_id": self.drop_id, "sku_id": self.sku_id, "quantity": 1}).encode()
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=60)
        ) as session:

            async def one(k: int) -> None:
                headers = {"Authorization": f"Token {self.tokens[k % len(self.tokens)]}",
                           "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}  # fmt: skip
                t0 = time.monotonic()
                try:
                    async with session.post(
                        f"{self.base}/api/v1/reservations/", data=body, headers=headers
                    ) as r:
                        payload = await r.read()
                        status = str(r.status)
                        if r.status >= 400:  # the error tree's code: why it was refused
                            try:
                                status += ":" + str(json.loads(payload).get("error", {}).get("code", "?"))
                            except ValueError:
                                status += ":?"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = f"client_error:{type(exc).__name__}"
                self.samples.append(Sample(t0, time.monotonic() - t0, status))

            tasks: set[asyncio.Task[None]] = set()
            start = time.monotonic()
            k = 0
            while not self.stop.is_set():
                due = start + k / self.rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                task = asyncio.create_task(one(k))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                k += 1
            if tasks:
                await asyncio.wait(tasks, timeout=60)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=90)

    def window(self, t0: float, t1: float) -> dict[str, Any]:
        return latency_window(self.samples, t0, t1)


def latency_window(samples: list[Sample], t0: float, t1: float) -> dict[str, Any]:
    """p50/p99/max and the statuses of the samples sent in [t0, t1)."""
    picked = [s for s in samples if t0 <= s.sent < t1]
    lat = sorted(s.latency for s in picked)
    statuses: dict[str, int] = {}
    for s in picked:
        statuses[s.status] = statuses.get(s.status, 0) + 1

    def pct(q: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else None

    return {"requests": len(picked), "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": pct(1.0),
            "statuses": statuses}  # fmt: skip


def p99_ratio(window: dict[str, Any], baseline: dict[str, Any]) -> float | None:
    return (
        round(window["p99_ms"] / baseline["p99_ms"], 2) if window["p99_ms"] and baseline["p99_ms"] else None
    )


class CommitFloor:
    """The database's own floor beside the reservations: one 1-row INSERT + COMMIT at `rate`/s on a
    plain psycopg connection to the same PostgreSQL (no web, no Django), in the same windows. What
    the burst does to it is what the shared WAL and disk do to any commit, whatever the design above."""

    def __init__(self, dsn: str, rate: float) -> None:
        self.dsn, self.rate = dsn, rate
        self.samples: list[Sample] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="commit-floor")

    def start(self) -> "CommitFloor":
        self.thread.start()
        return self

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_commit_floor (id bigserial PRIMARY KEY, at timestamptz)"
            )
            start = time.monotonic()
            k = 0
            while not self.stop.is_set():
                self.stop.wait(max(0.0, start + k / self.rate - time.monotonic()))
                t0 = time.monotonic()
                with conn.transaction():
                    conn.execute("INSERT INTO bench_commit_floor (at) VALUES (now())")
                self.samples.append(Sample(t0, time.monotonic() - t0, "commit"))
                k += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def window(self, t0: float, t1: float) -> dict[str, Any]:
        return latency_window(self.samples, t0, t1)


class Viewer:
    """One WebSocket viewer of a drop: counts stock frames, keeps the last counters of each SKU."""

    def __init__(self, url: str, origin: str) -> None:
        self.url, self.origin = url, origin
        self.frames = 0
        self.stock_frames = 0
        self.snapshots = 0
        self.connects = 0
        self.last: dict[int, dict[str, int]] = {}
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True, name="viewer")

    def start(self) -> "Viewer":
        self.thread.start()
        return self

    async def _main(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.typing import Origin

        while not self.stop.is_set():
            try:
                async with connect(self.url, origin=Origin(self.origin), compression=None, open_timeout=30,
                                   max_queue=None) as ws:  # fmt: skip
                    self.connects += 1
                    while not self.stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                        except TimeoutError:
                            continue
                        frame = json.loads(raw)
                        self.frames += 1
                        kind = frame.get("type")
                        if kind in ("snapshot", "stock"):
                            if kind == "snapshot":
                                self.snapshots += 1
                                self.ready.set()
                            else:
                                self.stock_frames += 1
                            for sku in frame.get("skus", []):
                                self.last[int(sku["sku_id"])] = {
                                    k: int(sku[k])
                                    for k in ("offered", "reserved", "sold", "available")
                                    if k in sku
                                }
            except Exception:
                await asyncio.sleep(0.5)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


class LagSampler:
    """The slowed group's lag in Kafka (log end - its committed offsets, summed over the topic's
    partitions), once a second, read without joining the group (no rebalance)."""

    def __init__(self, group: str, topic: str) -> None:
        self.group, self.topic = group, topic
        self.samples: list[tuple[float, int]] = []
        self.committed: dict[int, int] = {}
        self.ends: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="lag")

    def start(self) -> "LagSampler":
        self.thread.start()
        return self

    def _run(self) -> None:
        from confluent_kafka import Consumer, TopicPartition

        from realtime.kafka_config import consumer_config

        probe = Consumer(consumer_config(self.group, **{"client.id": f"bench-lag-{self.group}"}))
        try:
            parts = list(probe.list_topics(self.topic, timeout=30).topics[self.topic].partitions)
            while not self.stop.is_set():
                try:
                    tps = [TopicPartition(self.topic, p) for p in parts]
                    committed = {tp.partition: tp.offset for tp in probe.committed(tps, timeout=10)}
                    ends = {p: probe.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10, cached=False)[1]
                            for p in parts}  # fmt: skip
                    self.committed, self.ends = committed, ends
                    lag = sum(max(ends[p] - max(committed[p], 0), 0) for p in parts)
                    self.samples.append((time.monotonic(), lag))
                except Exception:  # a probe that timed out on a busy box: the next one counts
                    pass
                self.stop.wait(1.0)
        finally:
            probe.close()

    def caught_up_to(self, ends: dict[int, int]) -> bool:
        """The group has committed at least up to `ends` (log ends captured earlier) on every partition."""
        # A partition the group never committed on reads as a negative offset: it is caught up if
        # it holds nothing (end 0).
        return bool(self.committed) and all(max(self.committed.get(p, -1), 0) >= n for p, n in ends.items())

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# --- the run ------------------------------------------------------------------------------------
def run(
    *, env: dict[str, str], events: int = 50_000, slowdown: float = 10.0, rate: float = 20.0,
    unloaded_s: float = 30.0, drain_timeout: float = 900.0, buyers: int = 20, log_dir: Path | None = None,
    background_nice: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """One backpressure run; Django set up on a migrated database that `env`'s processes share."""

    from realtime.models import SalesByDrop
    from realtime.topics import topic_for_aggregate

    log_dir = log_dir or ROOT / "artifacts" / "backpressure-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    load_avg_start = [round(x, 2) for x in os.getloadavg()]
    expected_reserves = int(rate * (unloaded_s + drain_timeout + 120)) + 100
    data = seed(buyers=buyers, load_units=expected_reserves, burst_units=events + 10)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "kafka_topics", "--apply"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=180)  # fmt: skip
    web_port, ws_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"
    ps = start_processes(env, web_port=web_port, ws_port=ws_port, slowdown=slowdown, log_dir=log_dir,
                         background_nice=background_nice)  # fmt: skip
    writer: subprocess.Popen[str] | None = None
    load: ReserveLoad | None = None
    viewer: Viewer | None = None
    lag: LagSampler | None = None
    floor: CommitFloor | None = None
    try:
        wait_ready(ps, web_port, ws_port)
        drop_topic = topic_for_aggregate("drop").full_name
        viewer = Viewer(
            f"ws://127.0.0.1:{ws_port}/ws/drops/{data['burst_drop']}/", "http://127.0.0.1"
        ).start()
        if not viewer.ready.wait(120):
            raise RuntimeError("the viewer got no snapshot")
        lag = LagSampler(SLOW_GROUP, drop_topic).start()
        # The burst is written by its own process (so the load generator keeps its schedule), started
        # first and waiting for the go: its interpreter start-up is in neither window.
        writer = subprocess.Popen(
            [sys.executable, __file__, "--write-burst", str(events), "--drop", str(data["burst_drop"]),
             "--sku", str(data["sku_id"]), "--merchant", str(data["merchant_id"]), "--offered", str(events + 10)],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            preexec_fn=_niced(background_nice),
        )  # fmt: skip
        if writer.stdout is None or writer.stdin is None or writer.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the burst writer did not start ({writer.poll()})")
        load = ReserveLoad(base, data["load_drop"], data["sku_id"], data["tokens"], rate).start()
        floor = CommitFloor(
            os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1), rate
        ).start()
        # Warm-up (connections, code paths), then the unloaded window; every process is up and idle.
        time.sleep(min(10.0, unloaded_s / 3))
        t_unloaded = time.monotonic()
        time.sleep(unloaded_s)
        frames_before = viewer.stock_frames
        t_burst = time.monotonic()
        writer.stdin.write("go\n")
        writer.stdin.flush()
        written_out, _ = writer.communicate(timeout=drain_timeout)
        t_written = time.monotonic()
        if writer.returncode != 0:
            raise RuntimeError(f"the burst writer failed ({writer.returncode})")

        def sold_units() -> int:
            return int(
                sum(SalesByDrop.objects.filter(drop_id=data["burst_drop"]).values_list("units", flat=True))
            )

        def burst_applied() -> bool:
            ps.check_alive()
            return sold_units() >= events

        # Drained: the slowed group applied the whole burst (its effects, committed with its offsets
        # in PostgreSQL), then its offsets in Kafka caught up with the log's end as it was then (the
        # reservation load keeps adding events, so "lag 0" alone is not seen while it runs).
        applied_ok = wait_until(burst_applied, timeout=drain_timeout, step=1.0)
        t_applied = time.monotonic()
        time.sleep(1.5)  # a lag sample taken after that
        ends_then = dict(lag.ends)
        drained_ok = applied_ok and wait_until(lambda: lag.caught_up_to(ends_then), timeout=120, step=1.0)
        t_drained = time.monotonic()
        load.close()
        floor.close()
        # With the load stopped too, the lag itself goes back to 0 (bounded).
        lag_zero = wait_until(lambda: bool(lag.samples) and lag.samples[-1][1] == 0, timeout=120, step=1.0)
        final = {
            "offered": events + 10, "reserved": 0, "sold": events, "available": 10,
        }  # fmt: skip
        wait_until(lambda: viewer.last.get(data["sku_id"]) == final, timeout=60)
        lag.close()
        units = sold_units()
        samples = [(round(t - t_burst, 1), n) for t, n in lag.samples if t >= t_burst]
        peak = max((n for _, n in samples), default=0)
        unloaded = load.window(t_unloaded, t_burst)
        burst = load.window(t_burst, t_drained)
        writing = load.window(t_burst, t_written)
        draining = load.window(t_written, t_drained)  # the burst is in; only the slowed group's lag remains
        floor_unloaded = floor.window(t_unloaded, t_burst)
        floor_writing = floor.window(t_burst, t_written)
        return {
            "benchmark": "backpressure",
            "events": events,
            "slowed_group": SLOW_GROUP,
            "slowdown": slowdown,
            "reserve_rate_per_s": rate,
            "reserve": {
                "unloaded": unloaded,
                "burst": burst,
                "while_writing": writing,
                "while_draining": draining,
            },
            "reserve_p99_ratio_burst_vs_unloaded": p99_ratio(burst, unloaded),
            "reserve_p99_ratio_writing_vs_unloaded": p99_ratio(writing, unloaded),
            "reserve_p99_ratio_draining_vs_unloaded": p99_ratio(draining, unloaded),
            "goal_p99_ratio_max": 1.2,
            "database_commit_floor": {
                "unloaded": floor_unloaded,
                "while_writing": floor_writing,
                "while_draining": floor.window(t_written, t_drained),
                "p99_ratio_writing_vs_unloaded": p99_ratio(floor_writing, floor_unloaded),
            },
            "background_nice": background_nice,
            "burst_written_s": json.loads(written_out.strip().splitlines()[-1])["seconds"],
            "lag": {
                "peak": peak,
                "drained": drained_ok,
                "zero_after_load_stopped": lag_zero,
                "final": lag.samples[-1][1] if lag.samples else None,
                "seconds_to_apply_after_written": round(t_applied - t_written, 1),
                "seconds_to_drain_after_written": round(t_drained - t_written, 1),
                "seconds_burst_to_drained": round(t_drained - t_burst, 1),
                "group_events_per_s_while_draining": round(events / (t_drained - t_burst), 1),
                "samples_s_lag": samples[:: max(1, len(samples) // 60)],  # at most ~60 points
            },
            "frames": {
                "stock_changes": events,
                "viewer_stock_frames": viewer.stock_frames - frames_before,
                "coalescing_ratio": round(events / max(1, viewer.stock_frames - frames_before), 1),
                "viewer_connects": viewer.connects,
                "last_frame_is_final": viewer.last.get(data["sku_id"]) == final,
                "viewer_last": viewer.last.get(data["sku_id"]),
            },
            "sales_units": units,
            "sales_units_expected": events,
            "load_average_start": load_avg_start,
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        }
    finally:
        for part in (load, floor, viewer, lag):
            if part is not None:
                part.close()
        if writer is not None and writer.poll() is None:
            writer.kill()
            writer.wait(timeout=30)
        ps.stop()


def _bench_database() -> str:
    """A fresh `<db>_backpressure` database (dropped after the run): DATABASE_URL is pointed at it."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "postgres://mintdrop:mintdrop@127.0.0.1:55432/mintdrop")
    name = f"{url.rsplit('/', 1)[1]}_backpressure"
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name
    return url


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--slowdown", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0, help="reservations per second (open loop)")
    parser.add_argument("--unloaded-seconds", type=float, default=30.0)
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    parser.add_argument("--background-nice", type=int, default=0,
                        help="nice value of the burst writer, relay, projector and consumer (the web and ws stay at 0)")  # fmt: skip
    # internal: the child processes of a run
    parser.add_argument("--slow-consumer", help=argparse.SUPPRESS)
    parser.add_argument("--write-burst", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--drop", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sku", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--merchant", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--offered", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if args.slow_consumer:
        slow_consumer(args.slow_consumer, args.slowdown)
        return
    if args.write_burst:
        write_burst(args.write_burst, args.drop, args.sku, args.merchant, args.offered)
        return
    args.events = max(1, min(args.events, 200_000))
    base_url = _bench_database()
    os.environ["KAFKA_TOPIC_PREFIX"] = f"bench.bp{uuid.uuid4().hex[:8]}."
    env = {
        **os.environ, "DJANGO_DEBUG": "false", "LOG_LEVEL": "WARNING", "ABUSE_THROTTLE_ENABLED": "false",
        "METRICS_PORT_BASE": "off", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT),
    }  # fmt: skip
    os.environ.update(
        {k: env[k] for k in ("DJANGO_DEBUG", "LOG_LEVEL", "ABUSE_THROTTLE_ENABLED", "METRICS_PORT_BASE")}
    )
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        import django

        django.setup()
        result = run(
            env=env, events=args.events, slowdown=args.slowdown, rate=args.rate,
            unloaded_s=args.unloaded_seconds, drain_timeout=args.drain_timeout,
            background_nice=args.background_nice,
        )  # fmt: skip
        print(json.dumps(result, indent=2))
    finally:
        from django.db import connections

        connections.close_all()
        import psycopg

        name = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
        with psycopg.connect(base_url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
