"""Wallet watch: cost of one watcher pass over a block range as the number of watched wallets grows.

Against the anvil that ops/ runs, on a fresh benchmark database (created, migrated, dropped).
The ERC-20 test fixture (tests/nft/fixtures/TestToken.sol) is deployed from anvil account 9, which
then sends one transfer to each of `--transfers` watched addresses. For each wallet count N the
watched set is those receivers plus random addresses up to N; the cursor is put back before the
transfers and `watch_wallets` runs until the head:

- watcher: seconds for the pass (node reads + parse + insert + outbox events), rows recorded (must be
  min(N, --transfers) every time, with as many events), rounds (a few batched requests each);
- raw: the same `eth_getLogs` filters (topic lists of N padded addresses) in the same batched
  requests, with nothing parsed or stored — the floor the watcher's node side cannot beat.

Prints one JSON document. Goal: recorded == transfers for every N; watcher time grows far slower
than N (addresses go into topic lists, never one request per wallet).

    .venv/bin/python bench/wallet_watch.py [--wallets 10,100,1000,5000] [--transfers 50]
"""

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DATABASE_TEST_NAME"] = f"bench_wallet_watch_{os.getpid()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wallets", default="10,100,1000,5000")
    parser.add_argument("--transfers", type=int, default=50)
    args = parser.parse_args()
    counts = [int(n) for n in args.wallets.split(",")]

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from eth_utils import to_checksum_address

    from nft.chain import client
    from nft.keys import anvil_account
    from nft.models import Wallet, WalletActivity, WalletKind, WalletWatchCursor
    from nft.services.wallet_logs import filters_for
    from nft.services.wallet_watch import watch_wallets
    from realtime.models import OutboxEvent
    from tests.nft.wallet_helpers import deploy_test_token, erc20_transfer_call, send_raw_and_wait, sign_tx

    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        chain = client()
        issuer = anvil_account(9)
        receivers = [to_checksum_address("0x" + secrets.token_hex(20)) for _ in range(args.transfers)]
        token = deploy_test_token(chain, issuer, supply=10**30)
        start = chain.block_number()
        start_block = chain.get_block(start)
        assert start_block is not None
        start_hash = "0x" + bytes(start_block["hash"]).hex()
        for to in receivers:
            send_raw_and_wait(chain, sign_tx(chain, issuer, to=token, data=erc20_transfer_call(to, 10**18)))
        head = chain.block_number()
        user = get_user_model().objects.create_user("bench-watch", password="pw-123456789")
        settings.NFT_WALLET_WATCH_BATCH_BLOCKS = max(100, head - start)

        def measure(n: int) -> dict[str, Any]:
            """One watcher pass over the transfers' blocks with n watched wallets, then the raw floor."""
            Wallet.objects.all().delete()
            OutboxEvent.objects.filter(type__startswith="wallet.").delete()
            fillers = [
                to_checksum_address("0x" + secrets.token_hex(20)) for _ in range(max(0, n - len(receivers)))
            ]
            addresses = (receivers + fillers)[:n]
            Wallet.objects.bulk_create(
                [Wallet(user=user, address=a, kind=WalletKind.LINKED) for a in addresses]
            )
            WalletWatchCursor.objects.update_or_create(
                chain_id=settings.CHAIN_ID,
                defaults={"block_number": start, "block_hash": start_hash, "recent_hashes": {}},
            )
            t0 = time.perf_counter()
            rounds = 0
            while WalletWatchCursor.objects.get().block_number < head:
                watch_wallets()
                rounds += 1
            watcher_s = time.perf_counter() - t0
            chunk = settings.NFT_WALLET_WATCH_ADDRESSES_PER_FILTER
            raw_calls = [
                ("eth_getLogs", [f])
                for i in range(0, n, chunk)
                for f in filters_for(addresses[i : i + chunk], from_block=start + 1, to_block=head)
            ]
            t0 = time.perf_counter()
            per = settings.NFT_WALLET_WATCH_FILTERS_PER_REQUEST
            groups = [raw_calls[i : i + per] for i in range(0, len(raw_calls), per)]
            raw_logs = sum(len(r or []) for g in groups for r in chain.batch(g))
            raw_s = time.perf_counter() - t0
            return {
                "wallets": n,
                "blocks": head - start,
                "expected": min(n, args.transfers),
                "recorded": WalletActivity.objects.count(),
                "events": OutboxEvent.objects.filter(type="wallet.activity_recorded").count(),
                "watcher_rounds": rounds,
                "watcher_seconds": round(watcher_s, 4),
                "raw_getlogs_seconds": round(raw_s, 4),
                "raw_logs": raw_logs,
                "getlogs_filters": len(raw_calls),
            }

        measure(counts[0])  # warm-up (imports, connections, schema cache): not reported
        results = [measure(n) for n in counts]
        print(
            json.dumps(
                {
                    "benchmark": "wallet_watch",
                    "transfers": args.transfers,
                    "addresses_per_filter": settings.NFT_WALLET_WATCH_ADDRESSES_PER_FILTER,
                    "results": results,
                    "all_recorded": all(r["recorded"] == r["expected"] == r["events"] for r in results),
                },
                indent=2,
            )
        )
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)


if __name__ == "__main__":
    main()
