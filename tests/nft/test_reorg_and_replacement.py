"""Reorgs and fee replacement on the real anvil: each line ends minted exactly once."""

from typing import Any

import pytest

from nft.chain import ChainClient, _fee_cache
from nft.models import ChainTransaction, Mint, MintStatus, TokenOwnership, TransferLog, TxStatus
from nft.services.confirmer import confirm_blocks
from nft.services.mints import request_mint, send_mint
from nft.services.transactions import replace_stuck
from realtime.models import OutboxEvent
from tests.nft.conftest import mine
from tests.nft.helpers import BUYER, owner_of, total_minted

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_reorg_dropping_the_mint_block_is_detected_and_the_line_is_minted_once(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any
) -> None:
    settings.CHAIN_CONFIRMATIONS = 3
    mint = request_mint(order_id=81, line_id=8101, collection=collection, to_address=BUYER, token_id=8101)
    send_mint(mint_id=mint.pk)
    tx = ChainTransaction.objects.get(mint=mint)
    confirm_until(
        lambda: ChainTransaction.objects.get(pk=tx.pk).status == TxStatus.INCLUDED, mine_blocks=False
    )
    tx.refresh_from_db()
    old_block, old_hash = tx.block_number, tx.block_hash
    assert TransferLog.objects.filter(contract=collection.address, token_id=8101).count() == 1

    depth = chain.block_number() - int(old_block or 0) + 1
    chain.rpc("anvil_reorg", [depth, []])  # replaces the block holding our mint (tx gone from chain and pool)
    assert chain.get_receipt(tx.tx_hash) is None

    result = confirm_blocks()
    assert result.reorg is not None
    assert tx.tx_hash in result.reorg["affected_tx_hashes"]
    assert result.reorg["fork_block_number"] < int(old_block or 0)
    reorg_event = OutboxEvent.objects.get(type="chain.reorg.detected")
    assert reorg_event.payload["old_hash"] != reorg_event.payload["new_hash"]

    confirm_until(lambda: Mint.objects.get(pk=mint.pk).status == MintStatus.CONFIRMED)
    tx.refresh_from_db()
    assert tx.status == TxStatus.CONFIRMED and tx.block_hash != old_hash  # same bytes, new block
    assert ChainTransaction.objects.filter(mint=mint).count() == 1
    assert total_minted(chain, collection) == 1 and owner_of(chain, collection, 8101) == BUYER
    assert TransferLog.objects.filter(contract=collection.address, token_id=8101).count() == 1
    assert (
        TokenOwnership.objects.get(contract=collection.address, token_id=8101).block_number == tx.block_number
    )
    assert OutboxEvent.objects.filter(type="nft.mint.confirmed").count() == 1


def test_stuck_low_fee_transaction_is_replaced_with_same_nonce_and_confirmed(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any, automine_guard: None
) -> None:
    settings.CHAIN_CONFIRMATIONS = 2
    chain.rpc("evm_setAutomine", [False])
    _fee_cache.clear()
    base = chain.base_fee()
    settings.NFT_MAX_FEE_PER_GAS_WEI = base + settings.NFT_PRIORITY_FEE_WEI + 1  # a tight cap: low fees
    mint = request_mint(order_id=82, line_id=8201, collection=collection, to_address=BUYER, token_id=8201)
    send_mint(mint_id=mint.pk)
    old = ChainTransaction.objects.get(mint=mint)
    assert old.status == TxStatus.SUBMITTED

    # Fees on the network jump above what the transaction offers: the next block leaves it out.
    chain.rpc("anvil_setNextBlockBaseFeePerGas", [hex(max(base * 10, 20 * 10**9))])
    mine(chain)
    assert chain.get_receipt(old.tx_hash) is None

    settings.NFT_MAX_FEE_PER_GAS_WEI = 10**12
    _fee_cache.clear()
    replaced = replace_stuck(older_than=0)
    assert len(replaced) == 1
    new = replaced[0]
    old.refresh_from_db()
    assert old.status == TxStatus.REPLACED and new.nonce == old.nonce and new.tx_hash != old.tx_hash
    assert new.max_fee_per_gas * 10 >= old.max_fee_per_gas * 11
    assert new.max_priority_fee_per_gas * 10 >= old.max_priority_fee_per_gas * 11

    mine(chain)
    confirm_until(lambda: Mint.objects.get(pk=mint.pk).status == MintStatus.CONFIRMED)
    new.refresh_from_db()
    assert new.status == TxStatus.CONFIRMED and Mint.objects.get(pk=mint.pk).current_tx_id == new.pk
    assert chain.get_receipt(old.tx_hash) is None
    assert owner_of(chain, collection, 8201) == BUYER and total_minted(chain, collection) == 1
