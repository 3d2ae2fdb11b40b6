"""Mint throughput: confirmed mints/s through the transaction manager vs raw eth_sendRawTransaction.

Against the anvil that ops/ runs (loopback), on a fresh benchmark database (created, migrated,
dropped). Two collections of the same contract are deployed, one per signer (anvil accounts 6 and
7, so nobody else's nonces move). Rounds alternate so both paths see the same chain height:

- raw: N `mintForLine` transactions pre-signed (not timed), then sent one by one with
  eth_sendRawTransaction; done when every receipt exists at CHAIN_CONFIRMATIONS depth;
- managed: N order lines through the transaction manager (request_mint + send_mint: nonce under
  row lock, sign, store, send, record + outbox event) in --workers sender processes (as the Celery
  worker runs them), with the block confirmer in its own process (as `chainwatch` runs), until
  every mint is `confirmed` (nft.mint.confirmed emitted).

Prints one JSON document: mints/s per round and overall, the ratio managed/raw, and nonce gaps of
the managed signer (stored nonces vs the chain). Goal: ratio >= 0.5, 0 gaps.

    .venv/bin/python bench/mint_throughput.py [--mints 200] [--rounds 2]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DATABASE_TEST_NAME"] = f"bench_mint_{os.getpid()}"
TIME_LIMIT = 120.0  # seconds per phase: a bound, the benchmark aborts past it


def _wait_depth(chain: Any, last_hash: str, depth: int, deadline: float) -> None:
    """Mine empty blocks until the receipt of `last_hash` has `depth` confirmations."""
    while time.monotonic() < deadline:
        receipt = chain.get_receipt(last_hash)
        if receipt is not None:
            missing = int(receipt["blockNumber"]) + depth - 1 - chain.block_number()
            for _ in range(max(0, missing)):
                chain.rpc("evm_mine", [])
            return
        time.sleep(0.01)
    raise TimeoutError("raw phase exceeded its time limit")


def raw_round(chain: Any, collection: Any, account: Any, first_line: int, n: int, depth: int) -> float:
    from nft import contracts
    from nft.services.fees import suggest_fees

    fees = suggest_fees()
    nonce = chain.nonce(account.address, "pending")
    signed = [
        account.sign_transaction(
            {
                "type": 2,
                "chainId": 31337,
                "nonce": nonce + i,
                "to": collection.address,
                "value": 0,
                "gas": 250_000,
                "maxFeePerGas": fees.max_fee_per_gas * 4,
                "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
                "data": contracts.mint_call(
                    to=account.address, line_id=first_line + i, token_id=first_line + i
                ),
            }
        )
        for i in range(n)
    ]
    t0 = time.perf_counter()
    for s in signed:
        outcome = chain.send_raw(bytes(s.raw_transaction))
        assert outcome.in_pool_or_chain, outcome
    _wait_depth(chain, "0x" + bytes(signed[-1].hash).hex(), depth, time.monotonic() + TIME_LIMIT)
    elapsed = time.perf_counter() - t0
    failed = [
        s
        for s in signed[:: max(1, n // 10)]
        if int(chain.get_receipt("0x" + bytes(s.hash).hex())["status"]) != 1
    ]
    assert not failed, "raw mints reverted"
    return n / elapsed


def _send_slice(collection_id: int, lines: list[int], buyer: str) -> None:
    """One sender worker process: request + send the mints of its lines (as a Celery worker would)."""
    from django.db import connection

    from nft import chain as chain_module
    from nft.models import Collection
    from nft.services.mints import request_mint, send_mint

    connection.close()  # never share the parent's sockets (database, JSON-RPC keep-alive)
    chain_module._local.client = None
    collection = Collection.objects.get(pk=collection_id)
    for line in lines:
        mint = request_mint(
            order_id=line, line_id=line, collection=collection, to_address=buyer, token_id=line
        )
        send_mint(mint_id=mint.pk)


def _chainwatch(stop: Any) -> None:
    """The `watch_chain` loop in its own process, as in production."""
    from django.db import connection

    from nft import chain as chain_module
    from nft.services.confirmer import confirm_blocks

    connection.close()
    chain_module._local.client = None
    while not stop.is_set():
        if not confirm_blocks().new_blocks:
            time.sleep(0.02)


def managed_round(chain: Any, collection: Any, first_line: int, n: int, buyer: str, workers: int) -> float:
    import multiprocessing as mp

    from django.db import connection

    from nft.models import Mint, MintStatus

    connection.close()
    ctx = mp.get_context("fork")
    stop = ctx.Event()
    lines = list(range(first_line, first_line + n))
    t0 = time.perf_counter()
    watcher = ctx.Process(target=_chainwatch, args=(stop,))
    watcher.start()
    senders = [
        ctx.Process(target=_send_slice, args=(collection.pk, lines[i::workers], buyer))
        for i in range(workers)
    ]
    for p in senders:
        p.start()
    deadline = time.monotonic() + TIME_LIMIT
    try:
        for p in senders:
            p.join(max(1.0, deadline - time.monotonic()))
            assert p.exitcode == 0, "a sender process failed"
        confirmed = Mint.objects.filter(line_id__in=lines, status=MintStatus.CONFIRMED)
        while confirmed.count() < n:
            if time.monotonic() > deadline:
                raise TimeoutError("managed phase exceeded its time limit")
            chain.rpc("evm_mine", [])  # automine only mines on transactions: give the last ones depth
            time.sleep(0.05)
        return n / (time.perf_counter() - t0)
    finally:
        stop.set()
        watcher.join(30)


def nonce_gaps(chain: Any, address: str) -> dict[str, Any]:
    from nft.models import ChainTransaction, SenderAccount
    from nft.models.chain import LIVE_STATUSES

    nonces = sorted(
        ChainTransaction.objects.filter(sender__address=address, status__in=LIVE_STATUSES).values_list(
            "nonce", flat=True
        )
    )
    sender = SenderAccount.objects.get(address=address)
    expected = set(range(nonces[0], nonces[-1] + 1)) if nonces else set()
    return {
        "stored_transactions": len(nonces),
        # nonces between our first and last stored transaction that none of ours holds (0 on a clean run;
        # nonces taken by transactions signed outside this manager show up here)
        "gaps": len(expected - set(nonces)),
        "duplicates": len(nonces) - len(set(nonces)),
        "next_nonce": sender.next_nonce,
        "chain_nonce": chain.nonce(address, "latest"),
        "counter_matches_chain": sender.next_nonce == chain.nonce(address, "latest"),
        "stalled_nonces": max(0, sender.next_nonce - chain.nonce(address, "latest")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mints", type=int, default=200, help="mints per round and path (max 2000)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating raw/managed rounds (max 5)")
    parser.add_argument("--workers", type=int, default=2, help="sender worker processes (Procfile: 2)")
    args = parser.parse_args()
    n, rounds = min(args.mints, 2000), min(args.rounds, 5)

    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.conf import settings
    from django.db import connection

    from nft.chain import client
    from nft.keys import anvil_account
    from nft.services.collections import deploy_collection

    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        chain = client()
        depth = settings.CHAIN_CONFIRMATIONS
        managed_signer, raw_signer = anvil_account(6), anvil_account(7)
        settings.NFT_SIGNER_PRIVATE_KEY = "0x" + bytes(raw_signer.key).hex()
        raw_collection = deploy_collection(
            name="Bench raw", symbol="BRAW", royalty_receiver=raw_signer.address, royalty_bps=0
        )
        settings.NFT_SIGNER_PRIVATE_KEY = "0x" + bytes(managed_signer.key).hex()
        managed_collection = deploy_collection(
            name="Bench managed", symbol="BMGD", royalty_receiver=managed_signer.address, royalty_bps=0
        )
        raw_rates, managed_rates = [], []
        start_block = chain.block_number()
        for r in range(rounds):
            raw_rates.append(raw_round(chain, raw_collection, raw_signer, 1_000_000 + r * n, n, depth))
            managed_rates.append(
                managed_round(
                    chain, managed_collection, 2_000_000 + r * n, n, raw_signer.address, args.workers
                )
            )
        raw = len(raw_rates) * n / sum(n / x for x in raw_rates)  # overall = total mints / total time
        managed = len(managed_rates) * n / sum(n / x for x in managed_rates)
        print(
            json.dumps(
                {
                    "benchmark": "mint_throughput",
                    "mints_per_round": n,
                    "managed_topology": f"{args.workers} sender processes + 1 chainwatch process",
                    "raw_topology": "1 client, sequential eth_sendRawTransaction of pre-signed txs",
                    "rounds": rounds,
                    "confirmations": depth,
                    "chain_blocks_from": start_block,
                    "chain_blocks_to": chain.block_number(),
                    "raw_send_raw_transaction_mints_per_s": [round(x, 1) for x in raw_rates],
                    "managed_confirmed_mints_per_s": [round(x, 1) for x in managed_rates],
                    "raw_overall_mints_per_s": round(raw, 1),
                    "managed_overall_mints_per_s": round(managed, 1),
                    "ratio_managed_to_raw": round(managed / raw, 3),
                    "goal_ratio": 0.5,
                    "managed_nonces": nonce_gaps(chain, managed_signer.address),
                },
                indent=2,
            )
        )
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)


if __name__ == "__main__":
    main()
