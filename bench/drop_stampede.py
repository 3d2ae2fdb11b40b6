"""Drop stampede: N buyers reserve on one live drop through the real HTTP server, over loopback.

Starts the `web` server of the Procfile (granian, WSGI, several workers) on a free loopback port
against a fresh benchmark database, creates the buyers (users + API tokens) directly in the DB,
then, with one asyncio HTTP client at a fixed concurrency:

1. baseline: the same number of GET /healthz requests (trivial endpoint), req/s;
2. stampede: each buyer POSTs one reservation (with an Idempotency-Key) on the same SKU.

Prints one JSON document: reservation requests/s, successful reservations/s, p50/p99 latency,
status counts, oversold units (from the 201 count and from the DB counters), the baseline req/s
and the ratio. Bounded: every phase has a timeout; the database is dropped at the end.

    .venv/bin/python bench/drop_stampede.py [--buyers 2000] [--units 500] [--concurrency 64]

With `--queue on|off` (and `--bots 0.2`) the stampede is the waiting-room scenario of
bench/stampede_queue.py instead: honest buyers arriving over `--arrival-window` s (joining the
waiting room with `on`), bots hammering reserve from `--bot-ips` addresses; the admitter
(`manage.py run_waiting_room`) runs beside the server. The abuse throttles are on (production
rates, printed) and honest buyers come from `--honest-ips` addresses, bots from `--bot-ips`. Adds
`bot_unit_share`, `bot_buyer_share`, `admission_kendall_tau` (how it is measured:
bench/stampede_queue.py, bench/README.md), `completed` and the conditions the run pinned.

    .venv/bin/python bench/drop_stampede.py --buyers 10000 --units 1000 --bots 0.2 --queue on
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from config.web_command import web_command  # noqa: E402 (ROOT on sys.path first)

BASE_DB_URL = os.environ.get("DATABASE_URL", "postgres://mintdrop:mintdrop@127.0.0.1:55432/mintdrop")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def db_url(name: str) -> str:
    return BASE_DB_URL.rsplit("/", 1)[0] + "/" + name


def recreate_database(name: str, *, drop_only: bool = False) -> None:
    conninfo = BASE_DB_URL.replace("postgres://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_data(buyers: int, units: int) -> dict[str, Any]:
    """Create a merchant, one SKU, a live drop and `buyers` users with tokens (in this process)."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User

    from commerce.services import catalog, drops
    from commerce.services.tokens import issue_tokens_for_new_users

    owner = User.objects.create_user(username="bench-owner", password="x" * 12)
    merchant = catalog.create_merchant(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}", owner=owner)
    product = catalog.create_product(
        merchant_id=merchant.pk,
        kind="physical",
        title="Stampede tee",
        skus=[catalog.SkuSpec(code="T", price=1000)],
    )
    sku = product.skus.get()

    def live_drop(title: str, quantity: int) -> int:
        drop = drops.create_drop(
            merchant_id=merchant.pk,
            title=title,
            starts_at=django.utils.timezone.now(),
            per_buyer_limit=1,
            items=[drops.DropItemSpec(sku_id=sku.pk, quantity=quantity)],
        )
        drops.start_drop(drop_id=drop.pk)
        return drop.pk

    password = make_password("bench-password")  # one hash for all: hashing is not what we measure

    def tokens_of(prefix: str, count: int) -> list[str]:
        users = User.objects.bulk_create(
            [User(username=f"{prefix}{i}", password=password) for i in range(count)]
        )
        return issue_tokens_for_new_users(users=users)  # real expiring knox tokens, one statement

    return {
        "drop_id": live_drop("Stampede", units),
        "sku_id": sku.pk,
        "tokens": tokens_of("buyer", buyers),
        # Warm-up: other buyers on another drop (both answers: WARM_UP // 2 units), so the timed
        # phase starts with the server's connections open and code paths loaded, not with the
        # buyers' tokens already cached.
        "warm_drop_id": live_drop("Warm-up", WARM_UP // 2),
        "warm_tokens": tokens_of("warm", WARM_UP),
    }


def queue_buyers(honest: int, bots: int, units: int, queue: bool, rate: float) -> dict[str, Any]:
    """The waiting-room scenario's drop (room on or off explicitly) and its two kinds of buyers."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.utils import timezone

    from commerce.models import Drop, Sku
    from commerce.services import drops
    from commerce.services.tokens import issue_tokens_for_new_users
    from commerce.waiting_room import services as rooms

    sku = Sku.objects.get(code="T")
    merchant_id = sku.product.merchant_id
    drop = drops.create_drop(
        merchant_id=merchant_id, title="Queued stampede", starts_at=timezone.now(), per_buyer_limit=1,
        items=[drops.DropItemSpec(sku_id=sku.pk, quantity=units)],
    )  # fmt: skip
    rooms.configure(
        drop_id=drop.pk, merchant_id=merchant_id, mode="on" if queue else "off", admit_per_second=rate
    )
    drops.start_drop(drop_id=drop.pk)
    password = make_password("bench-password")

    def accounts(prefix: str, count: int) -> list[tuple[int, str]]:
        users = User.objects.bulk_create(
            [User(username=f"{prefix}{i}", password=password) for i in range(count)]
        )
        tokens = issue_tokens_for_new_users(users=users)
        return [(u.pk, key) for u, key in zip(users, tokens, strict=True)]

    assert Drop.objects.filter(pk=drop.pk).exists()
    return {
        "drop_id": drop.pk,
        "sku_id": sku.pk,
        "honest": accounts("honest", honest),
        "bots": accounts("bot", bots),
    }


def units_by_buyer(drop_id: int) -> dict[int, int]:
    from django.db import connection
    from django.db.models import Sum

    from commerce.models import Reservation

    connection.close()
    rows = Reservation.objects.filter(drop_id=drop_id).values("buyer_id").annotate(n=Sum("quantity"))
    return {r["buyer_id"]: r["n"] for r in rows}


def read_counters(drop_id: int) -> dict[str, int]:
    from django.db import connection

    from commerce.models import DropItem, Reservation

    connection.close()  # fresh connection: see what the server committed
    item = DropItem.objects.with_stock_totals().get(drop_id=drop_id)  # the row plus its stock shards
    return {
        "offered": item.stock_offered,
        "reserved": item.stock_reserved,
        "sold": item.stock_sold,
        "stock_rows": 1 + item.shards.count(),
        "reservation_rows": Reservation.objects.filter(drop_id=drop_id).count(),
    }


def start_server(port: int, env: dict[str, str], workers: int, threads: int) -> subprocess.Popen[bytes]:
    # The Procfile's flags (config/web_command.py: with its connection limits, granian does not stall
    # 4,096 buyers' new connections behind idle keep-alive ones).
    cmd = web_command(
        port=port, workers=workers, threads=threads, extra=("--no-ws", "--log-level", "warning")
    )
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "wb"),
    )


def start_admitter(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`manage.py run_waiting_room` (the waiting room's admitter), as the Procfile runs it."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_waiting_room"],
        cwd=ROOT,
        env={**env, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=open(os.environ.get("BENCH_ADMITTER_LOG", os.devnull), "wb"),
    )


def wait_admitter(admitter: subprocess.Popen[bytes], timeout: float = 240) -> None:
    """Block until the admitter has ticked once (a loaded box can take a minute to import Django)."""
    import threading

    line: list[bytes] = []
    reader = threading.Thread(
        target=lambda: line.append(admitter.stdout.readline() if admitter.stdout else b""), daemon=True
    )
    reader.start()
    reader.join(timeout)
    if not line or b"ticking" not in line[0]:
        raise RuntimeError("the waiting-room admitter did not start")


async def wait_ready(base: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(base + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("server did not become ready")


Request = tuple[str, str, dict[str, str], bytes | None]
WARM_UP = 400  # requests per path before the timed phases


async def _client(requests: Sequence[Request], concurrency: int, timeout: float) -> dict[str, Any]:
    """One client process: send `requests` with `concurrency` in flight."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def worker() -> None:
            while not queue.empty():
                method, url, headers, body = queue.get_nowait()
                t0 = time.perf_counter()
                try:
                    async with session.request(method, url, headers=headers, data=body) as r:
                        payload = await r.read()
                        code = str(r.status)
                        if r.status >= 400:
                            code += ":" + json.loads(payload).get("error", {}).get("code", "?")
                except (aiohttp.ClientError, TimeoutError) as exc:
                    code = f"client_error:{type(exc).__name__}"
                latencies.append(time.perf_counter() - t0)
                statuses[code] = statuses.get(code, 0) + 1

        start = time.time()
        # Bounded: requests still unsent at the deadline are dropped and counted, not waited for.
        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        _, late = await asyncio.wait(workers, timeout=timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        end = time.time()
    if late:
        statuses["unsent_at_deadline"] = queue.qsize() + len(late)
    return {"start": start, "end": end, "latencies": latencies, "statuses": statuses}


def _client_process(args: tuple[Sequence[Request], int, float, Any]) -> dict[str, Any]:
    requests, concurrency, timeout, barrier = args
    barrier.wait(timeout=60)  # all client processes start together
    return asyncio.run(_client(requests, concurrency, timeout))


def run_phase(
    requests: Sequence[Request], concurrency: int, timeout: float, clients: int = 1
) -> dict[str, Any]:
    """Send `requests` from `clients` processes, `concurrency` in flight in total.

    Several client processes keep the client from being the bottleneck on the baseline (one
    asyncio process tops out well below what granian serves for /healthz); both phases of a run
    use the same client set-up. Elapsed time runs from the first start to the last finish.
    """
    clients = max(1, min(clients, len(requests)))
    if clients == 1:
        parts = [asyncio.run(_client(requests, concurrency, timeout))]
    else:
        ctx = multiprocessing.get_context("fork")
        barrier = ctx.Manager().Barrier(clients)
        per = max(1, concurrency // clients)
        slices = [(requests[i::clients], per, timeout, barrier) for i in range(clients)]
        with ctx.Pool(clients) as pool:
            parts = pool.map(_client_process, slices)
    latencies = sorted(x for p in parts for x in p["latencies"])
    statuses: dict[str, int] = {}
    for p in parts:
        for code, n in p["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    elapsed = max(p["end"] for p in parts) - min(p["start"] for p in parts)
    return {
        "requests": len(latencies),
        "elapsed_s": round(elapsed, 3),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="granian blocking threads per worker")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per phase")
    parser.add_argument(
        "--clients", type=int, default=2, help="client processes (same for baseline and stampede)"
    )
    parser.add_argument(
        "--no-idempotency-key", action="store_true", help="send reservations without the header"
    )
    parser.add_argument(
        "--queue", choices=["on", "off"], help="the waiting-room scenario (stampede_queue.py)"
    )
    parser.add_argument("--bots", type=float, default=0.0, help="share of buyers that are bots (0..0.9)")
    parser.add_argument("--bot-ips", type=int, default=4, help="source addresses the bots use")
    parser.add_argument(
        "--honest-ips", type=int, default=4096, help="source addresses the honest buyers are spread over"
    )
    parser.add_argument("--arrival-window", type=float, default=2.0, help="honest arrivals spread (s)")
    parser.add_argument("--admit-rate", type=float, default=200.0, help="waiting room: buyers admitted/s")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    args.buyers = max(1, min(args.buyers, 20_000))
    if args.bots and args.queue is None:
        args.queue = "off"
    args.bots = max(0.0, min(args.bots, 0.9))

    name = f"mintdrop_bench_{os.getpid()}"
    recreate_database(name)
    env = {
        **os.environ,
        "DATABASE_URL": db_url(name),
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "ERROR",
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        # The plain stampede sends every buyer from 127.0.0.1, where per-IP throttles would refuse the
        # crowd: off there. The `--queue` scenario spreads honest buyers over `--honest-ips` addresses
        # and bots over `--bot-ips`, so the abuse defences run as in production: on.
        "ABUSE_THROTTLE_ENABLED": os.environ.get(
            "ABUSE_THROTTLE_ENABLED", "true" if args.queue is not None else "false"
        ),
        # This run's waiting rooms, apart from any other run's (drop ids restart in a fresh database).
        "COMMERCE_WAITING_ROOM_PREFIX": f"bench{os.getpid()}:wr:",
    }
    os.environ.update(
        {
            k: env[k]
            for k in (
                "DATABASE_URL",
                "DJANGO_DEBUG",
                "LOG_LEVEL",
                "DJANGO_SETTINGS_MODULE",
                "COMMERCE_WAITING_ROOM_PREFIX",
                "ABUSE_THROTTLE_ENABLED",
            )
        }
    )
    server: subprocess.Popen[bytes] | None = None
    admitter: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        data = setup_data(args.buyers, args.units)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(port, env, args.workers, args.threads)
        if args.queue is not None:
            admitter = start_admitter(env)
        asyncio.run(wait_ready(base))
        if admitter is not None:
            wait_admitter(admitter)

        def reservations(drop_id: int, tokens: list[str]) -> list[Request]:
            body = json.dumps({"drop_id": drop_id, "sku_id": data["sku_id"], "quantity": 1}).encode()
            return [
                (
                    "POST",
                    base + "/api/v1/reservations/",
                    {"Authorization": f"Token {token}", "Content-Type": "application/json"}
                    | ({} if args.no_idempotency_key else {"Idempotency-Key": uuid.uuid4().hex}),
                    body,
                )
                for token in tokens
            ]

        # Warm both paths (connections, imports) outside the timed phases, as a server that has
        # been up for a while is: /healthz, and reservations on another drop by other buyers.
        run_phase(
            [("GET", base + "/healthz", {}, None)] * WARM_UP, args.concurrency, args.timeout, args.clients
        )
        run_phase(
            reservations(data["warm_drop_id"], data["warm_tokens"]),
            args.concurrency,
            args.timeout,
            args.clients,
        )
        baseline = run_phase(
            [("GET", base + "/healthz", {}, None)] * args.buyers, args.concurrency, args.timeout, args.clients
        )
        if args.queue is not None:
            print(json.dumps(queue_scenario(args, base, baseline), indent=2))
            return
        stampede = run_phase(
            reservations(data["drop_id"], data["tokens"]), args.concurrency, args.timeout, args.clients
        )
        db = read_counters(data["drop_id"])
        created = stampede["statuses"].get("201", 0)
        result = {
            "benchmark": "drop_stampede",
            "server": f"granian wsgi, {args.workers} workers x {args.threads} threads, 127.0.0.1",
            "client": f"aiohttp, {args.clients} processes, {args.concurrency} concurrent connections in all",
            "buyers": args.buyers,
            "units": args.units,
            "idempotency_key": not args.no_idempotency_key,
            "reservation_requests_per_s": stampede["req_per_s"],
            "reservations_per_s": round(created / stampede["elapsed_s"], 1),
            "p50_ms": stampede["p50_ms"],
            "p99_ms": stampede["p99_ms"],
            "statuses": stampede["statuses"],
            "reservations_created": created,
            "oversold": max(0, created - args.units) + max(0, db["reserved"] + db["sold"] - db["offered"]),
            "db": db,
            "baseline_healthz": baseline,
            "ratio": round(stampede["req_per_s"] / baseline["req_per_s"], 3),
            "goal": {"ratio_min": 0.5, "oversold": 0},
        }
        print(json.dumps(result, indent=2))
    finally:
        if admitter is not None:
            admitter.terminate()
            try:
                admitter.wait(timeout=15)
            except subprocess.TimeoutExpired:
                admitter.kill()
                admitter.wait(timeout=15)
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        from django.db import connections

        connections.close_all()
        recreate_database(name, drop_only=True)


def queue_scenario(args: argparse.Namespace, base: str, baseline: dict[str, Any]) -> dict[str, Any]:
    """The `--queue on|off --bots F` stampede (bench/stampede_queue.py) and its figures."""
    import stampede_queue

    n_bots = round(args.buyers * args.bots)
    data = queue_buyers(args.buyers - n_bots, n_bots, args.units, args.queue == "on", args.admit_rate)
    phase = stampede_queue.run(
        base=base, drop_id=data["drop_id"], sku_id=data["sku_id"], honest=data["honest"], bots=data["bots"],
        queue=args.queue == "on", clients=args.clients, concurrency=args.concurrency,
        arrival_window=args.arrival_window, bot_ips=args.bot_ips, honest_ips=args.honest_ips,
        timeout=args.timeout, seed=args.seed,
    )  # fmt: skip
    db = read_counters(data["drop_id"])
    held = units_by_buyer(data["drop_id"])
    bot_ids = {uid for uid, _ in data["bots"]}
    units_taken = sum(held.values())
    if args.queue == "on":
        from commerce.waiting_room import store

        order = store.admission_log(drop_id=data["drop_id"])
        # Arrival: the moment each buyer's first join entered the server (its WSGI entry, before
        # Django; `arrived_at_us` in the join's answer). Admission order is the admitter's Redis log.
        # Whatever reorders requests after they reach the server -- threads, token look-ups, the
        # order the join script runs them, a re-join after an expired admission -- counts against it.
        tau = stampede_queue.arrival_tau({u: float(t) for u, t in phase["entries"].items()}, order)
        ticket_tau = stampede_queue.arrival_tau({u: float(t) for u, t in phase["tickets"].items()}, order)
    else:
        order = sorted(phase["got_in"], key=lambda uid: phase["got_in"][uid])
        tau = stampede_queue.arrival_tau(phase["arrivals"], order)
        ticket_tau = None
    created = phase["statuses"].get("201", 0)
    from django.conf import settings

    rates = {k: v for k, v in settings.ABUSE_THROTTLE_RATES.items() if k.startswith("reserve.")}
    throttled = os.environ["ABUSE_THROTTLE_ENABLED"].lower() in ("1", "true", "yes", "on")
    return {
        "benchmark": "drop_stampede --queue",
        "conditions": {
            "queue": args.queue,
            "buyers": args.buyers,
            "units": args.units,
            "bots": n_bots,
            "bot_source_ips": args.bot_ips if n_bots else 0,
            "honest_arrival_window_s": args.arrival_window,
            "admit_per_second": args.admit_rate if args.queue == "on" else None,
            "admission_ttl_s": float(os.environ.get("COMMERCE_WAITING_ROOM_ADMISSION_TTL_SECONDS", 60)),
            "per_buyer_limit": 1,
            "honest_source_ips": phase["honest_addresses"],
            "throttles": rates if throttled else "off",
            "honest_poll": "queue status every 0.5-10 s (eta/2); stop when the drop is sold out",
            "honest_retry": "queue off: a 429 is retried after 1 s, 3 tries in all",
            "bot_behaviour": "no admission token, back-to-back reserve requests",
            "server": f"granian wsgi, {args.workers} workers x {args.threads} threads, 127.0.0.1",
            "client": f"aiohttp, {args.clients} processes, {args.concurrency} concurrent connections in all",
            "seed": args.seed,
        },
        "ratio": round(phase["req_per_s"] / baseline["req_per_s"], 3),
        "reservation_requests_per_s": phase["req_per_s"],
        "reservations_per_s": round(created / phase["elapsed_s"], 1) if phase["elapsed_s"] else 0.0,
        "p50_ms": phase["p50_ms"],
        "p99_ms": phase["p99_ms"],
        "statuses": phase["statuses"],
        "honest_queue_answers": phase["queue_statuses"],  # joins and polls: "200:<status>" or the error code
        "reservations_created": created,
        "oversold": max(0, created - args.units) + max(0, db["reserved"] + db["sold"] - db["offered"]),
        "bot_unit_share": round(sum(n for uid, n in held.items() if uid in bot_ids) / units_taken, 4)
        if units_taken
        else 0.0,
        "bot_buyer_share": round(n_bots / args.buyers, 4),
        "admission_kendall_tau": tau,
        "admission_kendall_tau_basis": (
            "server arrival: admission order (Redis log) vs when each buyer's first join entered the server"
            if args.queue == "on"
            else "reservation order vs the time each buyer's request left the client"
        ),
        # For comparison only: admission order vs the ticket the join script gave (the order the joins
        # reached Redis: the queue's own order, so only re-joins lower it) ...
        "admission_kendall_tau_queue_ticket": ticket_tau,
        # ... and vs when each client sent its join (includes the
        # network and the server's request scheduling, which reorder requests sent close together).
        "admission_kendall_tau_client_send": stampede_queue.arrival_tau(phase["arrivals"], order),
        "completed": phase["unfinished_honest"] == 0,
        "unfinished_honest": phase["unfinished_honest"],
        "unfinished_bots": phase["unfinished_bots"],
        "queue_polls": phase["polls"],
        "load_average_1m": round(os.getloadavg()[0], 2),
        "honest_buyers_served": sum(1 for uid in held if uid not in bot_ids),
        "db": db,
        "baseline_healthz": baseline,
        "elapsed_s": phase["elapsed_s"],
        "goal": {
            "ratio_min": 0.5,
            "oversold": 0,
            "bot_unit_share_below": "bot_buyer_share",
            "admission_kendall_tau_min": 0.95,
        },
    }


if __name__ == "__main__":
    main()
