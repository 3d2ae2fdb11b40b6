"""Crash safety and nonce healing of the transaction manager, on the real anvil and PostgreSQL."""

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction

from nft import contracts
from nft.chain import ChainClient
from nft.keys import anvil_account
from nft.models import ChainTransaction, Mint, MintStatus, SenderAccount, TxKind, TxStatus
from nft.services.locks import lock_sender
from nft.services.mints import request_mint, send_mint
from nft.services.senders import allocate_nonce, heal_nonces
from nft.services.transactions import rebroadcast_pending
from tests.nft.helpers import BUYER, line_minted, owner_of, run_python, subprocess_env, total_minted

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _mint(collection: Any, line_id: int) -> Mint:
    return request_mint(
        order_id=line_id // 10, line_id=line_id, collection=collection, to_address=BUYER, token_id=line_id
    )


def _confirmed(mint: Mint) -> bool:
    return Mint.objects.get(pk=mint.pk).status == MintStatus.CONFIRMED


def test_worker_killed_after_signing_resends_the_same_transaction(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any
) -> None:
    mint = _mint(collection, 9101)
    sender_nonce = chain.nonce(collection.deployer, "latest")
    proc = run_python(
        f"from nft.services.mints import send_mint; send_mint(mint_id={mint.pk})",
        subprocess_env(settings, MINTDROP_CRASH_AT="nft.after_sign"),
    )
    assert proc.returncode == 137, proc.stderr
    stored = ChainTransaction.objects.get(mint=mint)
    assert stored.status == TxStatus.SIGNED and bytes(stored.raw_tx)
    assert chain.get_receipt(stored.tx_hash) is None, "the killed worker must not have sent anything"
    assert chain.nonce(collection.deployer, "latest") == sender_nonce
    assert not line_minted(chain, collection, 9101)

    send_mint(mint_id=mint.pk)  # the redelivered task (acks_late) after the restart
    send_mint(mint_id=mint.pk)  # ... and once more, for good measure
    assert list(ChainTransaction.objects.filter(mint=mint).values_list("tx_hash", flat=True)) == [
        stored.tx_hash
    ]
    confirm_until(lambda: _confirmed(mint))
    assert owner_of(chain, collection, 9101) == BUYER
    assert total_minted(chain, collection) == 1


def test_worker_killed_after_sending_before_recording_is_recovered_by_rebroadcast(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any
) -> None:
    mint = _mint(collection, 9201)
    proc = run_python(
        f"from nft.services.mints import send_mint; send_mint(mint_id={mint.pk})",
        subprocess_env(settings, MINTDROP_CRASH_AT="nft.after_send"),
    )
    assert proc.returncode == 137, proc.stderr
    stored = ChainTransaction.objects.get(mint=mint)
    assert stored.status == TxStatus.SIGNED  # the send was never recorded ...
    assert chain.get_receipt(stored.tx_hash) is not None  # ... but it reached the chain

    assert rebroadcast_pending(older_than=0) >= 1  # node says "nonce too low": ours is mined
    stored.refresh_from_db()
    assert stored.status == TxStatus.SUBMITTED
    confirm_until(lambda: _confirmed(mint))
    assert ChainTransaction.objects.filter(mint=mint).count() == 1
    assert total_minted(chain, collection) == 1 and owner_of(chain, collection, 9201) == BUYER


def test_nonce_gap_is_filled_and_later_transactions_get_mined(
    chain: ChainClient, collection: Any, confirm_until: Any
) -> None:
    sender = SenderAccount.objects.get(address=collection.deployer)
    with transaction.atomic():  # a nonce handed out whose transaction was lost: a gap
        gap = allocate_nonce(lock_sender(sender.pk))
    mint = _mint(collection, 9301)
    send_mint(mint_id=mint.pk)
    tx = ChainTransaction.objects.get(mint=mint)
    assert tx.nonce == gap + 1
    assert chain.get_receipt(tx.tx_hash) is None, "queued behind the gap"

    assert heal_nonces(sender_id=sender.pk) == [gap]
    noop = ChainTransaction.objects.get(sender=sender, nonce=gap)
    assert noop.kind == TxKind.NOOP
    rebroadcast_pending(older_than=0)
    confirm_until(lambda: _confirmed(mint))
    assert owner_of(chain, collection, 9301) == BUYER
    assert chain.nonce(sender.address, "latest") == SenderAccount.objects.get(pk=sender.pk).next_nonce


def test_counter_ahead_of_chain_is_rewound(chain: ChainClient, collection: Any) -> None:
    sender = SenderAccount.objects.get(address=collection.deployer)
    SenderAccount.objects.filter(pk=sender.pk).update(next_nonce=sender.next_nonce + 5)
    assert heal_nonces(sender_id=sender.pk) == []
    assert SenderAccount.objects.get(pk=sender.pk).next_nonce == chain.nonce(sender.address, "pending")


def test_key_used_elsewhere_nonce_too_low_heals_and_mints_once(
    chain: ChainClient, collection: Any, confirm_until: Any, signer: Any
) -> None:
    sender = SenderAccount.objects.get(address=collection.deployer)
    # Someone sends with our key behind our back: the chain's nonce moves past our counter.
    outside = signer.sign_transaction(
        {
            "type": 2,
            "chainId": 31337,
            "nonce": sender.next_nonce,
            "to": anvil_account(9).address,
            "value": 1,
            "gas": 21_000,
            # well above the base fee whatever earlier tests on this chain left it at: it must be mined
            "maxFeePerGas": max(10**11, 4 * chain.base_fee()),
            "maxPriorityFeePerGas": 10**9,
        }
    )
    assert chain.send_raw(bytes(outside.raw_transaction)).status == "accepted"
    # "someone else used the nonce" means mined, not waiting in the mempool beside ours
    for _ in range(60):  # bounded: automine mines it at once; otherwise a block or two does
        if chain.get_receipt(outside.hash.hex()) is not None:
            break
        chain.rpc("evm_mine", [])
    assert chain.get_receipt(outside.hash.hex()) is not None
    mint = _mint(collection, 9401)
    send_mint(mint_id=mint.pk)
    txs = list(ChainTransaction.objects.filter(mint=mint).order_by("pk"))
    assert len(txs) == 2 and txs[0].status == TxStatus.DROPPED
    confirm_until(lambda: _confirmed(mint))
    assert total_minted(chain, collection) == 1 and owner_of(chain, collection, 9401) == BUYER


def test_rebroadcast_reports_a_drop_and_the_mint_layer_signs_afresh(
    chain: ChainClient, collection: Any, confirm_until: Any, signer: Any
) -> None:
    """A stored, never-sent mint whose nonce someone else used: the manager drops it, the beat
    job's caller (`nft.tasks.rebroadcast_pending`) re-sends the mint with a fresh nonce."""
    from nft.services.fees import suggest_fees
    from nft.services.signing import sign_and_store
    from nft.tasks import rebroadcast_pending as rebroadcast_task

    mint = _mint(collection, 9501)
    sender = SenderAccount.objects.get(address=collection.deployer)
    with transaction.atomic():  # what send_mint stores before a worker dies ahead of the send
        locked = lock_sender(sender.pk)
        stored = sign_and_store(
            sender=locked,
            nonce=allocate_nonce(locked),
            kind=TxKind.MINT,
            to_address=collection.address,
            data=contracts.mint_call(to=BUYER, line_id=9501, token_id=9501),
            gas_limit=django_settings.NFT_MINT_GAS_LIMIT,
            fees=suggest_fees(),
            mint=mint,
        )
        Mint.objects.filter(pk=mint.pk).update(current_tx=stored, status=MintStatus.SUBMITTED)
    outside = signer.sign_transaction(
        {
            "type": 2,
            "chainId": 31337,
            "nonce": stored.nonce,
            "to": anvil_account(9).address,
            "value": 1,
            "gas": 21_000,
            # well above the base fee whatever earlier tests on this chain left it at: it must be mined
            "maxFeePerGas": max(10**11, 4 * chain.base_fee()),
            "maxPriorityFeePerGas": 10**9,
        }
    )
    assert chain.send_raw(bytes(outside.raw_transaction)).status == "accepted"
    # "someone else used the nonce" means mined, not waiting in the mempool beside ours
    for _ in range(60):  # bounded: automine mines it at once; otherwise a block or two does
        if chain.get_receipt(outside.hash.hex()) is not None:
            break
        chain.rpc("evm_mine", [])
    assert chain.get_receipt(outside.hash.hex()) is not None

    rebroadcast_task()
    stored.refresh_from_db()
    assert stored.status == TxStatus.DROPPED
    fresh = Mint.objects.get(pk=mint.pk).current_tx
    assert fresh is not None and fresh.pk != stored.pk and fresh.nonce > stored.nonce
    confirm_until(lambda: _confirmed(mint))
    assert total_minted(chain, collection) == 1 and owner_of(chain, collection, 9501) == BUYER
