"""A mint goes through the transaction manager and is confirmed after N blocks on the real anvil."""

from typing import Any

import pytest
from eth_utils import to_checksum_address

from nft import contracts
from nft.chain import ChainClient
from nft.models import ChainTransaction, Mint, MintStatus, TokenOwnership, TxStatus
from nft.services.mints import request_mint, send_mint
from realtime.models import OutboxEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BUYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def owner_of(chain: ChainClient, collection: Any, token_id: int) -> str:
    return to_checksum_address(
        contracts.decode_one("address", chain.call(collection.address, contracts.owner_of_call(token_id)))
    )


def test_mint_is_confirmed_after_n_blocks_and_owner_checked_on_chain(
    chain: ChainClient, collection: Any, confirm_until: Any, settings: Any
) -> None:
    settings.CHAIN_CONFIRMATIONS = 3
    mint = request_mint(
        order_id=7,
        line_id=7001,
        collection=collection,
        to_address=BUYER,
        token_id=7001,
        metadata={"name": "Sneaker #1"},
    )
    send_mint(mint_id=mint.pk)
    tx = ChainTransaction.objects.get(mint=mint)
    assert tx.status == TxStatus.SUBMITTED

    seen_included_before_confirmed = []

    def done() -> bool:
        m = Mint.objects.get(pk=mint.pk)
        t = ChainTransaction.objects.get(pk=tx.pk)
        if t.status == TxStatus.INCLUDED:
            seen_included_before_confirmed.append(t.block_number)
        return m.status == MintStatus.CONFIRMED

    confirm_until(done)
    tx.refresh_from_db()
    assert seen_included_before_confirmed, "was confirmed without waiting for confirmations"
    assert tx.status == TxStatus.CONFIRMED and tx.confirmations >= 3
    assert owner_of(chain, collection, 7001) == BUYER
    assert contracts.decode_one("bool", chain.call(collection.address, contracts.line_minted_call(7001)))
    assert TokenOwnership.objects.get(contract=collection.address, token_id=7001).owner == BUYER
    types = list(OutboxEvent.objects.filter(aggregateid="7").values_list("type", flat=True))
    assert types == ["nft.mint.submitted", "nft.mint.confirmed"]
    confirmed = OutboxEvent.objects.get(type="nft.mint.confirmed")
    assert confirmed.payload["tx_hash"] == tx.tx_hash and confirmed.payload["confirmations"] >= 3
