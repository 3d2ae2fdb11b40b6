"""The signer pool on the real anvil and PostgreSQL: members authorised on chain, lanes in parallel,
each lane's nonces contiguous, a lane healed on its own, a crash in the middle of a pooled send."""

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from nft.chain import ChainClient
from nft.keys import signer_pool
from nft.models import ChainTransaction, Mint, MintStatus, SenderAccount, TxKind, TxStatus
from nft.models.chain import LIVE_STATUSES
from nft.services.locks import lock_sender
from nft.services.mints import request_mint, send_mint
from nft.services.senders import allocate_nonce, ensure_sender, heal_nonces
from nft.services.signer_pool import authorize_signer_pool, has_minter_role, minting_lanes
from nft.services.transactions import rebroadcast_pending
from realtime.models import OutboxEvent
from tests.nft.helpers import BUYER, owner_of, run_python, subprocess_env, total_minted

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pool_of(settings: Any, signer: Any) -> Any:
    """Set the pool size before the collection fixture deploys (and so authorises the pool)."""

    def set_size(size: int) -> list[str]:
        settings.NFT_SIGNER_POOL_SIZE = size
        return [a.address for a in signer_pool()]

    return set_size


def _mint(collection: Any, line_id: int) -> Mint:
    return request_mint(
        order_id=line_id // 10, line_id=line_id, collection=collection, to_address=BUYER, token_id=line_id
    )


def _assert_lanes_contiguous(chain: ChainClient, addresses: list[str]) -> dict[str, int]:
    """Each signer's stored live nonces form one run that ends where the chain's nonce is; mints per lane."""
    used = {}
    for address in addresses:
        sender = SenderAccount.objects.get(address=address)
        nonces = sorted(
            ChainTransaction.objects.filter(sender=sender, status__in=LIVE_STATUSES).values_list(
                "nonce", flat=True
            )
        )
        if nonces:
            assert nonces == list(range(nonces[0], nonces[-1] + 1)), f"gap or duplicate in lane {address}"
        assert sender.next_nonce == chain.nonce(address, "latest"), f"lane {address} stalled"
        used[address] = ChainTransaction.objects.filter(sender=sender, kind=TxKind.MINT).count()
    return used


def test_pool_members_are_funded_and_granted_the_minter_role_on_chain(
    chain: ChainClient, pool_of: Any, settings: Any
) -> None:
    members = pool_of(3)
    from nft.services.collections import deploy_collection

    collection = deploy_collection(name="Pool", symbol="POOL", royalty_receiver=members[0], royalty_bps=0)
    for address in members:
        assert has_minter_role(collection=collection, address=address)
        assert chain.balance(address) >= settings.NFT_SIGNER_POOL_FUND_WEI // 2
    grants = ChainTransaction.objects.filter(kind=TxKind.GRANT, to_address=collection.address)
    assert grants.count() == 2 and {t.sender.address for t in grants} == {members[0]}
    assert minting_lanes(collection=collection) == members
    assert authorize_signer_pool(collection=collection) == []  # nothing missing: nothing sent


def test_a_member_without_the_role_is_not_used_until_granted(chain: ChainClient, pool_of: Any) -> None:
    from nft.services.collections import deploy_collection

    members = pool_of(1)
    collection = deploy_collection(name="Solo", symbol="SOLO", royalty_receiver=members[0], royalty_bps=0)
    members = pool_of(2)  # the pool grew after the collection was deployed
    assert minting_lanes(collection=collection) == members[:1]
    assert len(authorize_signer_pool(collection=collection)) >= 1
    assert minting_lanes(collection=collection) == members


def test_parallel_threads_mint_on_every_lane_once_each_with_contiguous_nonces(
    chain: ChainClient, pool_of: Any, confirm_until: Any, settings: Any
) -> None:
    members = pool_of(3)
    from nft.services.collections import deploy_collection

    collection = deploy_collection(name="Par", symbol="PAR", royalty_receiver=members[0], royalty_bps=0)
    settings.NFT_SEND_BATCH_SIZE = 4  # small batches: several lanes get work even with few mints
    mints = [_mint(collection, 70_000 + i) for i in range(48)]
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker(ids: list[int]) -> None:
        try:
            start.wait(timeout=60)
            for mint_id in ids:
                send_mint(mint_id=mint_id)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    ids = [m.pk for m in mints]
    # Each thread has its share, and some of the others' too: duplicate deliveries of the same task.
    threads = [threading.Thread(target=worker, args=(ids[i::6] + ids[: i * 2],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)

    confirm_until(lambda: Mint.objects.filter(status=MintStatus.CONFIRMED).count() == len(mints))
    used = _assert_lanes_contiguous(chain, members)
    assert sum(used.values()) == len(mints), "one transaction per mint, never a second"
    assert sum(1 for n in used.values() if n) >= 2, f"the pool was not used in parallel: {used}"
    assert total_minted(chain, collection) == len(mints)
    assert OutboxEvent.objects.filter(type="nft.mint.confirmed").count() == len(mints)
    assert OutboxEvent.objects.filter(type="nft.mint.submitted").count() == len(mints)
    assert all(owner_of(chain, collection, 70_000 + i) == BUYER for i in range(0, len(mints), 5))


def _mint_on_lane(collection: Any, lane: int, line_id: int) -> Mint:
    """A mint whose own lane (mint id modulo the pool's 2 lanes) is `lane` (others are removed)."""
    while True:
        mint = _mint(collection, line_id)
        if mint.pk % 2 == lane:
            return mint
        mint.delete()
        line_id += 1


def test_one_lane_heals_its_gap_while_the_others_keep_minting(
    chain: ChainClient, pool_of: Any, confirm_until: Any
) -> None:
    members = pool_of(2)
    from nft.services.collections import deploy_collection

    collection = deploy_collection(name="Heal", symbol="HEAL", royalty_receiver=members[0], royalty_bps=0)
    healthy, stalled = ensure_sender(address=members[0]), ensure_sender(address=members[1])
    with transaction.atomic():  # a nonce handed out on lane 1 whose transaction was lost: a gap
        gap = allocate_nonce(lock_sender(stalled.pk))
    healthy_nonce = SenderAccount.objects.get(pk=healthy.pk).next_nonce

    blocked = _mint_on_lane(collection, 1, 71_000)
    send_mint(mint_id=blocked.pk)
    blocked_tx = ChainTransaction.objects.get(mint=blocked)
    assert blocked_tx.sender_id == stalled.pk and blocked_tx.nonce == gap + 1
    assert chain.get_receipt(blocked_tx.tx_hash) is None, "queued behind the gap"

    other = _mint_on_lane(collection, 0, 71_100)
    send_mint(mint_id=other.pk)
    confirm_until(lambda: Mint.objects.get(pk=other.pk).status == MintStatus.CONFIRMED)  # not held up
    assert ChainTransaction.objects.get(mint=other).sender_id == healthy.pk
    assert Mint.objects.get(pk=blocked.pk).status == MintStatus.SUBMITTED

    assert heal_nonces(sender_id=stalled.pk) == [gap]  # lane 1 alone: a no-op fills its gap
    assert heal_nonces(sender_id=healthy.pk) == []
    assert SenderAccount.objects.get(pk=healthy.pk).next_nonce == healthy_nonce + 1
    assert rebroadcast_pending(older_than=0, sender_id=stalled.pk) == 2  # the no-op, then the mint
    confirm_until(lambda: Mint.objects.get(pk=blocked.pk).status == MintStatus.CONFIRMED)
    assert ChainTransaction.objects.get(sender=stalled, nonce=gap).kind == TxKind.NOOP
    _assert_lanes_contiguous(chain, members)


def test_worker_killed_after_signing_a_pooled_batch_resends_the_same_transactions(
    chain: ChainClient, pool_of: Any, confirm_until: Any, settings: Any
) -> None:
    members = pool_of(2)
    from nft.services.collections import deploy_collection

    collection = deploy_collection(name="Crash", symbol="CRSH", royalty_receiver=members[0], royalty_bps=0)
    mints = [_mint(collection, 72_000 + i) for i in range(5)]
    proc = run_python(
        f"from nft.services.mints import send_mint; send_mint(mint_id={mints[0].pk})",
        subprocess_env(settings, MINTDROP_CRASH_AT="nft.after_sign", NFT_SIGNER_POOL_SIZE="2"),
    )
    assert proc.returncode == 137, proc.stderr
    stored = {tx.mint_id: tx for tx in ChainTransaction.objects.filter(kind=TxKind.MINT)}
    # The batch: the mint and the waiting mints of the same lane (id modulo 2), signed and stored.
    assert set(stored) == {m.pk for m in mints if m.pk % 2 == mints[0].pk % 2}
    assert all(tx.status == TxStatus.SIGNED for tx in stored.values())
    assert len({tx.sender_id for tx in stored.values()}) == 1  # one batch, one lane
    assert not any(chain.get_receipt(tx.tx_hash) for tx in stored.values()), "nothing was sent"

    for m in mints:  # the redelivered tasks (acks_late), concurrently with nobody: same bytes
        send_mint(mint_id=m.pk)
    confirm_until(lambda: Mint.objects.filter(status=MintStatus.CONFIRMED).count() == len(mints))
    after = {tx.mint_id: tx.tx_hash for tx in ChainTransaction.objects.filter(kind=TxKind.MINT)}
    assert len(after) == len(mints), "one transaction per mint"
    assert {k: after[k] for k in stored} == {k: v.tx_hash for k, v in stored.items()}, (
        "the same bytes re-sent"
    )
    assert total_minted(chain, collection) == len(mints)
    _assert_lanes_contiguous(chain, members)
