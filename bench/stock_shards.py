"""Hot-item reserves: one stock row vs the same stock split over N rows (StockShard), same run.

Creates a benchmark database (migrated), a merchant and one SKU, then for each round and each
layout (interleaved: one row, N shards, one row, ...) a fresh live drop whose only item offers
`--units` units. `--writers` threads, each with its own PostgreSQL connection and its own buyer,
are released together and call the reserve service (`reserve_stock`: the one-statement reserve,
its transaction, the sold-out memo) until the item is sold out. Reports per layout the median
over rounds of reservations/s (units / wall time from release to the last writer done),
per-reserve latency p50/p99, busy retries seen, and oversold units (the item's counters, shards
included, against the offer and against the active reservations; must be 0). Bounded: each round
stops at `--round-timeout` seconds; the database is dropped at the end unless --keep.

    .venv/bin/python bench/stock_shards.py [--writers 16] [--shards 16] [--units 1600] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BASE_DB_URL = os.environ.get("DATABASE_URL", "postgres://mintdrop:mintdrop@127.0.0.1:55432/mintdrop")


def _bench_db_name() -> str:
    return BASE_DB_URL.rsplit("/", 1)[1] + "_bench_stock"


def _recreate(name: str, *, drop_only: bool = False) -> None:
    with psycopg.connect(BASE_DB_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def _django(name: str) -> None:
    os.environ["DATABASE_URL"] = BASE_DB_URL.rsplit("/", 1)[0] + "/" + name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _one_round(
    *, merchant_id: int, sku_id: int, buyers: list[int], units: int, shards: int, timeout: float
) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from commerce.errors import SoldOut, StockBusy
    from commerce.models import DropItem, Reservation, ReservationStatus
    from commerce.services import drops, soldout_memo
    from commerce.services.reservations import reserve_stock

    drop = drops.create_drop(
        merchant_id=merchant_id,
        title=f"bench {shards}",
        starts_at=timezone.now() + timedelta(hours=1),
        per_buyer_limit=units,
        items=[drops.DropItemSpec(sku_id=sku_id, quantity=units, shards=shards)],
    )
    drops.start_drop(drop_id=drop.pk)
    soldout_memo.clear()
    barrier = threading.Barrier(len(buyers) + 1)
    latencies: list[list[float]] = [[] for _ in buyers]
    won = [0] * len(buyers)
    busy = [0] * len(buyers)
    deadline = [0.0]

    def writer(n: int, buyer_id: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=120)
            while time.monotonic() < deadline[0]:
                started = time.perf_counter()
                try:
                    reserve_stock(drop_id=drop.pk, sku_id=sku_id, buyer_id=buyer_id, quantity=1)
                    won[n] += 1
                except SoldOut:
                    return
                except StockBusy:
                    busy[n] += 1
                latencies[n].append(time.perf_counter() - started)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n, b)) for n, b in enumerate(buyers)]
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + timeout
    barrier.wait(timeout=120)
    started = time.perf_counter()
    for t in threads:
        t.join(timeout + 60)
    elapsed = time.perf_counter() - started
    item = DropItem.objects.with_stock_totals().get(drop=drop)
    active = sum(
        Reservation.objects.filter(drop=drop, status=ReservationStatus.ACTIVE).values_list(
            "quantity", flat=True
        )
    )
    lat = [x for per in latencies for x in per]
    return {
        "reserved": sum(won),
        "elapsed_s": round(elapsed, 3),
        "reservations_per_s": round(sum(won) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(_percentile(lat, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(lat, 0.99) * 1000, 2),
        "stock_busy_refusals": sum(busy),
        "oversold": max(0, item.stock_reserved + item.stock_sold - item.stock_offered)
        + max(0, sum(won) - units)
        + abs(active - item.stock_reserved),
        "sold_out": item.available == 0,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--units", type=int, default=1600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--round-timeout", type=float, default=120.0)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)

    name = _bench_db_name()
    _recreate(name)
    try:
        _django(name)
        from django.contrib.auth.models import User

        from commerce.services import catalog

        owner = User.objects.create_user("bench-owner", password=None)
        merchant = catalog.create_merchant(name="Bench", slug="bench", owner=owner)
        sku = catalog.create_product(
            merchant_id=merchant.pk,
            kind="physical",
            title="Hot tee",
            skus=[catalog.SkuSpec(code="HOT", price=1000)],
        ).skus.get()
        buyers = [User.objects.create_user(f"bench-buyer-{n}", password=None).pk for n in range(args.writers)]
        layouts = {"one_row": 1, "shards": args.shards}
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in layouts}
        for _ in range(args.rounds):
            for label, shards in layouts.items():  # interleaved, so both see the same machine load
                runs[label].append(
                    _one_round(
                        merchant_id=merchant.pk,
                        sku_id=sku.pk,
                        buyers=buyers,
                        units=args.units,
                        shards=shards,
                        timeout=args.round_timeout,
                    )
                )
        summary = {
            label: {
                "reservations_per_s": statistics.median(r["reservations_per_s"] for r in rs),
                "p50_ms": statistics.median(r["p50_ms"] for r in rs),
                "p99_ms": statistics.median(r["p99_ms"] for r in rs),
                "stock_busy_refusals": sum(r["stock_busy_refusals"] for r in rs),
                "oversold": sum(r["oversold"] for r in rs),
                "rounds": rs,
            }
            for label, rs in runs.items()
        }
        base = summary["one_row"]["reservations_per_s"]
        result = {
            "benchmark": "stock_shards",
            "writers": args.writers,
            "shards": args.shards,
            "units_per_round": args.units,
            "rounds": args.rounds,
            "one_row": summary["one_row"],
            "split": summary["shards"],
            "speedup": round(summary["shards"]["reservations_per_s"] / base, 2) if base else None,
            "oversold": summary["one_row"]["oversold"] + summary["shards"]["oversold"],
            "load_average_1m": round(os.getloadavg()[0], 2),
            "cpu_count": os.cpu_count(),
        }
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _recreate(name, drop_only=True)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
