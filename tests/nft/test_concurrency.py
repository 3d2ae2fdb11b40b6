"""100 mints from 2 real Celery worker processes: consecutive nonces, no gap, all confirmed."""

import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from nft.chain import ChainClient
from nft.models import ChainTransaction, Mint, MintStatus, SenderAccount, TxKind, TxStatus
from nft.services.mints import request_mint
from tests.nft.helpers import BUYER, REPO, owner_of, subprocess_env, total_minted

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MINTS = 100


def _start_worker(name: str, queue: str, env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(REPO / ".venv/bin/celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "-n",
            f"{name}@localhost",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def test_100_mints_from_two_worker_processes_get_consecutive_nonces_and_all_confirm(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any, tmp_path: Path
) -> None:
    from nft.tasks import send_mint

    sender = SenderAccount.objects.get(address=collection.deployer)
    first_nonce = sender.next_nonce
    mints = [
        request_mint(
            order_id=1000 + i,
            line_id=100_000 + i,
            collection=collection,
            to_address=BUYER,
            token_id=100_000 + i,
        )
        for i in range(MINTS)
    ]
    queue = f"nft-test-{uuid.uuid4().hex[:8]}"
    env = subprocess_env(settings)
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = [_start_worker(f"nft{i}-{queue}", queue, env, logs[i].open("wb")) for i in range(2)]
    try:
        for mint in mints:
            send_mint.apply_async(args=(mint.pk,), queue=queue)
        deadline = time.monotonic() + 180  # a bound, not a timing assertion
        while time.monotonic() < deadline:
            # Every task done (a task may find its mint already sent in another task's batch).
            if (
                ChainTransaction.objects.filter(kind=TxKind.MINT).exclude(status=TxStatus.SIGNED).count()
                == MINTS
                and sum(log.read_text().count("succeeded in") for log in logs) == MINTS
            ):
                break
            assert all(w.poll() is None for w in workers), "a worker died"
            time.sleep(0.5)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)

    txs = ChainTransaction.objects.filter(kind=TxKind.MINT)
    nonces = sorted(txs.values_list("nonce", flat=True))
    assert nonces == list(range(first_nonce, first_nonce + MINTS)), "nonces must be consecutive, no gap"
    assert SenderAccount.objects.get(pk=sender.pk).next_nonce == first_nonce + MINTS
    assert chain.nonce(sender.address, "pending") == first_nonce + MINTS
    # Both processes did part of the work (otherwise this would not test concurrency at all).
    done_per_worker = [log.read_text().count("succeeded in") for log in logs]
    assert sum(done_per_worker) == MINTS and min(done_per_worker) > 0, done_per_worker

    confirm_until(lambda: Mint.objects.filter(status=MintStatus.CONFIRMED).count() == MINTS)
    assert total_minted(chain, collection) == MINTS
    assert all(owner_of(chain, collection, 100_000 + i) == BUYER for i in range(0, MINTS, 7))
