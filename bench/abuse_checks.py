"""What the bot defences add to one reserve: the block check and the throttle round trip.

Creates a private database (dropped at the end), a drop with BLOCKED blocked buyers, then times,
in this process against the real PostgreSQL and Redis:
- `block_check_cached_us`: `check_not_blocked` answered from the process's cached set (the reserve path);
- `block_check_query_us`: the same answer read from PostgreSQL every time (what a query per reserve costs);
- `throttle_hit_us`: one reserve's throttle counters (user, IP, velocity) in one Redis pipeline;
- `baseline_select1_us`: a bare `SELECT 1` round trip, for scale.
Prints one JSON document. `python bench/abuse_checks.py [--calls N] [--blocked N]`
"""

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.drop_stampede import db_url, recreate_database  # noqa: E402


def per_call_us(fn, calls: int) -> float:
    fn()  # warm
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return round((time.perf_counter() - start) / calls * 1e6, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--blocked", type=int, default=1_000)
    args = parser.parse_args()
    name = f"mintdrop_bench_abuse_{os.getpid()}"
    recreate_database(name)
    os.environ.update(
        {"DATABASE_URL": db_url(name), "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "ERROR"}
    )
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.contrib.auth.models import User
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        from commerce.abuse import blocklist, limiter
        from commerce.abuse.models import BuyerBlock
        from commerce.abuse.rates import Rate
        from commerce.services import catalog, drops

        owner = User.objects.create_user(username="bench-owner")
        merchant = catalog.create_merchant(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}", owner=owner)
        sku = catalog.create_product(
            merchant_id=merchant.pk, kind="physical", title="T", skus=[catalog.SkuSpec(code="T", price=100)]
        ).skus.get()
        drop = drops.create_drop(
            merchant_id=merchant.pk, title="D", starts_at=owner.date_joined, ends_at=None, per_buyer_limit=1,
            items=[drops.DropItemSpec(sku_id=sku.pk, quantity=10)],
        )  # fmt: skip
        users = User.objects.bulk_create([User(username=f"b{i}") for i in range(args.blocked + 1)])
        BuyerBlock.objects.bulk_create(
            [BuyerBlock(merchant=merchant, drop=drop, buyer_id=u.pk) for u in users[: args.blocked]]
        )
        free = users[-1].pk

        settings.ABUSE_BLOCKLIST_CACHE_SECONDS = 3600.0
        blocklist.forget()
        cached = per_call_us(lambda: blocklist.check_not_blocked(drop_id=drop.pk, buyer_id=free), args.calls)
        settings.ABUSE_BLOCKLIST_CACHE_SECONDS = 0.0
        blocklist.forget()
        queried = per_call_us(
            lambda: blocklist.check_not_blocked(drop_id=drop.pk, buyer_id=free), args.calls // 10
        )

        def select1() -> None:
            with connection.cursor() as cur:
                cur.execute("SELECT 1")

        baseline = per_call_us(select1, args.calls // 10)
        counters = [
            ("reserve.user", str(free), Rate(10**9, 60)),
            ("reserve.ip", "10.0.0.1", Rate(10**9, 60)),
            ("velocity.reserve", str(free), Rate(10**9, 60)),
        ]
        throttle = per_call_us(lambda: limiter.hit(counters), args.calls // 10)
        print(json.dumps({
            "blocked_buyers": args.blocked,
            "block_check_cached_us": cached,
            "block_check_query_us": queried,
            "throttle_hit_us": throttle,
            "baseline_select1_us": baseline,
        }, indent=2))  # fmt: skip
        connection.close()
    finally:
        recreate_database(name, drop_only=True)


if __name__ == "__main__":
    main()
