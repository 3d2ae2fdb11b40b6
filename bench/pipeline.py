"""Benchmark of the event pipeline: outbox insert -> relay -> Kafka -> consumer -> effect committed.

Prints one JSON document. In the same run it measures, on loopback only:

1. `raw`: a bare confluent-kafka producer (same settings as the relay: idempotent, acks=all)
   sending N messages of the pipeline's message size while a bare consumer reads them;
2. `pipeline` (throughput): N `diagnostics.ping` events written with `emit_many()` (100 per
   transaction, one multi-row INSERT) while `manage.py relay_outbox` and `manage.py consume diagnostics` run as real
   processes; the end is when the N-th effect row (diagnostics handler) is visible in PostgreSQL;
3. `steady`: the same pipeline at a steady rate (default 1,000 events/s, one transaction every
   10 ms) for a bounded time, with end-to-end latency per event = effect row first seen by an
   observer polling the database every 2 ms - the time just before `emit()` (an upper bound on
   "effect committed"), and the time a plain Kafka reader first sees the message (an upper bound
   on commit -> broker).

`ratio` = pipeline throughput / raw throughput. Phases 2 and 3 run once per design, each with its
own topics and emptied tables, in the same run:

- `old`: the marking relay (one leader, one UPDATE of the delivered rows per round) and a consumer
  that writes an inbox row per event (RELAY_MODE=mark, CONSUMER_INBOX_GROUPS=*);
- `new`: the snapshot relay (no per-row update: one progress row per outbox partition and window)
  and offsets stored in PostgreSQL with the effects (no inbox row for `diagnostics`).

The top-level `ratio` is the new design's. Uses its own database (`<db>_bench`, realtime
migrations only) and its own topic prefix, so it never touches dev data or other runs. The box is
shared: the load average is printed before and after; compare ratios, not absolute figures.

    .venv/bin/python bench/pipeline.py [--events 50000] [--rate 1000] [--steady-seconds 10] [--designs old,new]
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["KAFKA_TOPIC_PREFIX"] = f"bench.{uuid.uuid4().hex[:8]}."
# As in production: with DEBUG on, Django's debug cursor also records every statement it runs.
os.environ["DJANGO_DEBUG"] = "false"
PHASE_TIMEOUT_S = 600.0
DESIGNS: dict[str, dict[str, str]] = {
    "old": {"RELAY_MODE": "mark", "CONSUMER_INBOX_GROUPS": "*"},
    "new": {"RELAY_MODE": "snapshot", "CONSUMER_INBOX_GROUPS": "saga,nft,notify"},
}


def _use_bench_database() -> str:
    """Point DATABASE_URL at `<db>_bench` (created if missing) before Django reads settings."""
    import environ
    import psycopg

    url = os.environ.get("DATABASE_URL", "postgres://mintdrop:mintdrop@127.0.0.1:55432/mintdrop")
    cfg = environ.Env.db_url_config(url)
    bench_db = f"{cfg['NAME']}_bench"
    with psycopg.connect(
        host=cfg["HOST"],
        port=cfg["PORT"],
        user=cfg["USER"],
        password=cfg["PASSWORD"],
        dbname=cfg["NAME"],
        autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [bench_db]).fetchone():
            conn.execute(f'CREATE DATABASE "{bench_db}"')
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + bench_db
    return bench_db


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2) if ordered else float("nan")


def raw_kafka(n: int, size: int) -> dict[str, Any]:
    """Bare produce + consume of `n` messages of `size` bytes through one 3-partition topic."""
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from realtime.kafka_config import admin_config, consumer_config, producer_config

    topic = f"{os.environ['KAFKA_TOPIC_PREFIX']}raw"
    admin = AdminClient(admin_config())
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(30)
    consumer = Consumer(consumer_config("bench-raw", **{"enable.auto.offset.store": True}))
    consumer.subscribe([topic])
    received: list[float] = []
    done = threading.Event()

    def consume() -> None:
        while len(received) < n and not done.is_set():
            for msg in consumer.consume(num_messages=1000, timeout=0.2):
                if not msg.error():
                    received.append(time.time() - float((msg.value() or b"")[:20]))
        consumer.close()

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(3)  # let the consumer join its group before timing starts
    producer = Producer(producer_config("bench-raw"))
    pad = b"x" * max(size - 21, 0)
    start = time.monotonic()
    for i in range(n):
        value = f"{time.time():20.6f}".encode() + b" " + pad
        while True:
            try:
                producer.produce(topic, key=f"k{i % 50}".encode(), value=value)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(60)
    thread.join(PHASE_TIMEOUT_S)
    elapsed = time.monotonic() - start
    done.set()
    return {
        "messages": len(received),
        "seconds": round(elapsed, 3),
        "per_second": round(len(received) / elapsed, 1),
        "latency_ms": {"p50": percentile(received, 0.5), "p99": percentile(received, 0.99)},
    }


class Observer(threading.Thread):
    """Polls the effect table; records when each ping's effect row is first visible (committed)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict[int, float] = {}  # seq -> wall time first seen
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import connection

        last = 0
        while not self.stop.is_set():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id, seq FROM realtime_diagnosticsping WHERE id > %s ORDER BY id", [last]
                )
                rows = cursor.fetchall()
            now = time.time()
            for row_id, seq in rows:
                self.seen.setdefault(seq, now)
                last = max(last, row_id)
            if not rows:
                time.sleep(0.002)
        connection.close()


class KafkaWatcher(threading.Thread):
    """A plain reader of the diagnostics topic: when each ping is first visible on the broker."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        from confluent_kafka import Consumer

        from realtime.kafka_config import consumer_config
        from realtime.topics import topic_named

        consumer = Consumer(
            consumer_config(f"bench-watch-{uuid.uuid4().hex[:6]}", **{"auto.offset.reset": "latest"})
        )
        consumer.subscribe([topic_named("diagnostics").full_name])
        while not self.stop.is_set():
            # Block for the first message only, then take what is already fetched: a
            # consume(1000, timeout=50 ms) waits for 1,000 messages, so at 1,000 events/s it held
            # each message ~25 ms on average and the time "first seen" measured the reader.
            first = consumer.poll(0.05)
            if first is None:
                continue
            now = time.time()
            for msg in [first, *consumer.consume(num_messages=1000, timeout=0)]:
                if not msg.error():
                    seq = json.loads(msg.value() or b"")["payload"]["seq"]
                    self.seen.setdefault(seq, now)
        consumer.close()


def emit_batch(first_seq: int, count: int, sent: dict[int, float]) -> None:
    from django.db import transaction

    from realtime.outbox import emit_many

    # One multi-row INSERT per transaction (`emit_many`), as a service recording several facts
    # at once does; one INSERT per event made the benchmark's own writer the bottleneck.
    with transaction.atomic():
        now = time.time()
        at = datetime.fromtimestamp(now, UTC).isoformat()
        seqs = range(first_seq, first_seq + count)
        emit_many(("diagnostics.ping", f"k{seq % 50}", {"seq": seq, "sent_at": at}) for seq in seqs)
        for seq in seqs:
            sent[seq] = now


def wait_until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}")
        time.sleep(0.01)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def broker_cpu_seconds() -> float:
    """CPU seconds of the local Kafka broker JVMs so far (found by their main class on /proc)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"kafka.Kafka" in (entry / "cmdline").read_bytes():
                total += cpu_seconds(int(entry.name))
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return total


def own_backend_cpu_seconds() -> float:
    """CPU seconds of this thread's PostgreSQL backend: the writer's INSERTs and commits."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return cpu_seconds(pid)


def backend_cpu_seconds() -> float:
    """CPU seconds of the other PostgreSQL backends of this database (same host: their /proc)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND client_port IS NOT NULL"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        backends = [row[0] for row in cursor.fetchall()]
    total = 0.0
    for pid in backends:
        try:
            total += cpu_seconds(pid)
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return total


def run_design(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Phases 2 and 3 with the relay and consumer of design `name`, on fresh topics and tables."""
    from django.conf import settings
    from django.db import connection

    from realtime.topic_admin import ensure_topics

    prefix = f"{os.environ['KAFKA_TOPIC_PREFIX']}{name}."
    settings.KAFKA_TOPIC_PREFIX = prefix
    ensure_topics()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE realtime_outboxevent, realtime_diagnosticsping, realtime_inboxentry,"
            " realtime_relayprogress, realtime_consumeroffset"
        )
    env = {
        **os.environ,
        **DESIGNS[name],
        "KAFKA_TOPIC_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    children = [
        subprocess.Popen([sys.executable, "manage.py", "relay_outbox"], cwd=ROOT, env=env),
        subprocess.Popen([sys.executable, "manage.py", "consume", "diagnostics"], cwd=ROOT, env=env),
    ]
    observer = Observer()
    observer.start()
    result: dict[str, Any] = {"settings": DESIGNS[name]}
    try:
        warm: dict[int, float] = {}
        emit_batch(10_000_000, 1, warm)  # warm-up: both processes up, consumer assigned
        wait_until(lambda: 10_000_000 in observer.seen, "warm-up event")

        sent: dict[int, float] = {}
        cpu_before = [cpu_seconds(c.pid) for c in children]
        pg_before, writer_pg_before = backend_cpu_seconds(), own_backend_cpu_seconds()
        broker_before, own_before = broker_cpu_seconds(), time.process_time()
        start, start_wall = time.monotonic(), time.time()
        for first in range(0, args.events, args.per_tx):
            emit_batch(first, min(args.per_tx, args.events - first), sent)
        inserted = time.monotonic() - start
        wait_until(lambda: len(observer.seen) > args.events, "all effects of the throughput phase")
        elapsed = max(observer.seen[s] for s in sent) - start_wall
        latencies = [observer.seen[s] - sent[s] for s in sent]
        cpu = [cpu_seconds(c.pid) - b for c, b in zip(children, cpu_before, strict=True)]
        pg_cpu = backend_cpu_seconds() - pg_before
        writer_pg_cpu = own_backend_cpu_seconds() - writer_pg_before
        broker_cpu = broker_cpu_seconds() - broker_before
        own_cpu = time.process_time() - own_before
        result["pipeline"] = {
            "events": args.events,
            "events_per_tx": args.per_tx,
            "insert_seconds": round(inserted, 3),
            "seconds": round(elapsed, 3),
            "per_second": round(args.events / elapsed, 1),
            "latency_ms": {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99)},
            # CPU per event moves least with a busy box: the relay and consumer processes (not PostgreSQL).
            "cpu_ms_per_1000_events": {
                "relay": round(cpu[0] * 1e6 / args.events, 1),
                "consumer": round(cpu[1] * 1e6 / args.events, 1),
                # relay + consumer + observer backends (the observer's polling is the same in both designs)
                "postgres_backends": round(pg_cpu * 1e6 / args.events, 1),
                # the local broker(s), and this process: the writer (emit_many) and the observer thread
                "kafka_broker": round(broker_cpu * 1e6 / args.events, 1),
                "bench_writer_and_observer": round(own_cpu * 1e6 / args.events, 1),
                "postgres_writer_backend": round(writer_pg_cpu * 1e6 / args.events, 1),
            },
            # Everything above: with the box's two cores busy, events/s <= 2e6 / this.
            "cpu_us_per_event_all": round(
                (sum(cpu) + pg_cpu + writer_pg_cpu + broker_cpu + own_cpu) * 1e6 / args.events, 1
            ),
        }

        watcher = KafkaWatcher()
        watcher.start()
        time.sleep(3)  # watcher assigned
        steady: dict[int, float] = {}
        tick, per_tick = 0.01, max(1, args.rate // 100)
        total = int(args.rate * args.steady_seconds)
        base = 20_000_000
        t0 = time.monotonic()
        for i, first in enumerate(range(base, base + total, per_tick)):
            delay = t0 + i * tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            emit_batch(first, min(per_tick, base + total - first), steady)
        achieved = total / (time.monotonic() - t0)
        wait_until(lambda: all(s in observer.seen for s in steady), "steady phase")
        deadline = time.monotonic() + 10
        while len([s for s in steady if s in watcher.seen]) < total and time.monotonic() < deadline:
            time.sleep(0.05)
        watcher.stop.set()
        e2e = [observer.seen[s] - steady[s] for s in steady]
        to_kafka = [watcher.seen[s] - steady[s] for s in steady if s in watcher.seen]
        result["steady"] = {
            "target_per_second": args.rate,
            "achieved_per_second": round(achieved, 1),
            "events": total,
            "events_per_tx": per_tick,
            "end_to_end_ms": {
                "p50": percentile(e2e, 0.5),
                "p99": percentile(e2e, 0.99),
                "max": percentile(e2e, 1.0),
            },
            "commit_to_kafka_visible_ms": {
                "p50": percentile(to_kafka, 0.5),
                "p99": percentile(to_kafka, 0.99),
            },
        }
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), count(DISTINCT event_id) FROM realtime_diagnosticsping")
            rows, distinct = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM realtime_inboxentry")
            (inbox_rows,) = cursor.fetchone()
        result["effects"] = {
            "rows": rows,
            "distinct_events": distinct,
            "duplicates": rows - distinct,
            "inbox_rows": inbox_rows,
        }
    finally:
        observer.stop.set()
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(120)  # a loaded box may need long to finish a round and close
            except subprocess.TimeoutExpired:
                print(
                    f"bench: child {child.pid} did not stop on SIGTERM within 120 s; killed", file=sys.stderr
                )
                child.kill()
                child.wait(30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rate", type=int, default=1_000, help="events/s in the steady phase")
    parser.add_argument("--steady-seconds", type=float, default=10.0)
    parser.add_argument("--per-tx", type=int, default=100, help="events per transaction (throughput phase)")
    parser.add_argument("--designs", default="old,new", help="which designs to run, in order (old, new)")
    args = parser.parse_args()
    designs = [d for d in args.designs.split(",") if d]
    unknown = set(designs) - set(DESIGNS)
    if unknown:
        raise SystemExit(f"bench: unknown design(s) {sorted(unknown)}; known: {sorted(DESIGNS)}")
    bench_db = _use_bench_database()

    import django

    django.setup()
    from django.core.management import call_command

    from realtime.events import Event
    from realtime.topic_admin import ensure_topics

    call_command("migrate", "realtime", verbosity=0)
    ensure_topics()
    sample = Event(
        type="diagnostics.ping", key="k1", payload={"seq": 12345, "sent_at": datetime.now(UTC).isoformat()}
    )
    size = len(sample.to_json())
    result: dict[str, Any] = {
        "benchmark": "pipeline",
        "database": bench_db,
        "message_bytes": size,
        "django_debug": False,
        "cpu_cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    raw = raw_kafka(args.events, size)
    result["raw"] = raw
    result["designs"] = {}
    for name in designs:
        run = run_design(name, args)
        run["ratio"] = round(run["pipeline"]["per_second"] / raw["per_second"], 3)
        result["designs"][name] = run
    last = result["designs"].get("new") or result["designs"][designs[-1]]
    result["ratio"] = last["ratio"]
    if "old" in result["designs"] and "new" in result["designs"]:
        old, new = result["designs"]["old"], result["designs"]["new"]
        result["new_vs_old"] = {
            "throughput": round(new["pipeline"]["per_second"] / old["pipeline"]["per_second"], 3),
            "steady_p99": round(
                new["steady"]["end_to_end_ms"]["p99"] / old["steady"]["end_to_end_ms"]["p99"], 3
            ),
        }
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["goals"] = {"ratio_min": 0.25, "steady_p99_ms_max": 250}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
