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
"""

import argparse
import asyncio
import datetime
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
    from knox.models import AuthToken, get_digest_token
    from knox.settings import CONSTANTS

    from commerce.services import catalog, drops

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
        # Real expiring knox tokens (as POST /api/v1/auth/token/ issues), created in one statement.
        expiry = django.utils.timezone.now() + datetime.timedelta(hours=2)
        pairs = [(u, *get_digest_token()) for u in users]
        AuthToken.objects.bulk_create(
            [
                AuthToken(digest=digest, token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user=u, expiry=expiry)
                for u, digest, key in pairs
            ]
        )
        return [key for _, _, key in pairs]

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


def read_counters(drop_id: int) -> dict[str, int]:
    from django.db import connection

    from commerce.models import DropItem, Reservation

    connection.close()  # fresh connection: see what the server committed
    item = DropItem.objects.get(drop_id=drop_id)
    return {
        "offered": item.offered,
        "reserved": item.reserved,
        "sold": item.sold,
        "reservation_rows": Reservation.objects.filter(drop_id=drop_id).count(),
    }


def start_server(port: int, env: dict[str, str], workers: int, threads: int) -> subprocess.Popen[bytes]:
    cmd = [
        str(ROOT / ".venv/bin/granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--blocking-threads", str(threads), "--no-ws", "--log-level", "warning",
        "config.wsgi:application",
    ]  # fmt: skip
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "wb"),
    )


async def wait_ready(base: str, timeout: float = 60) -> None:
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
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout)
        end = time.time()
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
    args = parser.parse_args()
    args.buyers = max(1, min(args.buyers, 20_000))

    name = f"mintdrop_bench_{os.getpid()}"
    recreate_database(name)
    env = {
        **os.environ,
        "DATABASE_URL": db_url(name),
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "ERROR",
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
    }
    os.environ.update(
        {k: env[k] for k in ("DATABASE_URL", "DJANGO_DEBUG", "LOG_LEVEL", "DJANGO_SETTINGS_MODULE")}
    )
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        data = setup_data(args.buyers, args.units)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(port, env, args.workers, args.threads)
        asyncio.run(wait_ready(base))

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
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        from django.db import connections

        connections.close_all()
        recreate_database(name, drop_only=True)


if __name__ == "__main__":
    main()
