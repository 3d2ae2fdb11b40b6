"""A token bought through the real path: its on-chain tokenURI serves the product's metadata, its
royalties go to the merchant, and a reorg deeper than the confirmation count after fulfilment
re-opens the order, which is fulfilled again by the same transaction (one token, never two)."""

from typing import Any
from urllib.parse import urlparse

import pytest
from django.test import Client
from eth_abi import decode
from eth_account import Account
from eth_utils import to_checksum_address

from commerce.models import Order, OrderStatus
from commerce.payments.models import SagaStep
from nft import contracts
from nft.chain import client as chain_client
from nft.models import ChainTransaction, Mint, MintStatus, TxStatus
from tests.nft.helpers import total_minted
from tests.payments.helpers import outbox
from tests.payments.nft_shop import buy_one
from tests.payments.pipeline import pipeline

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _tick() -> None:
    from nft.services.confirmer import confirm_blocks

    confirm_blocks()
    chain_client().rpc("evm_mine", [])


def test_token_uri_metadata_and_royalties_of_a_bought_token(
    merchant_nft_shop: dict[str, Any],
    gateway: Any,
    kafka_prefix: str,
) -> None:
    shop = merchant_nft_shop
    wallet = to_checksum_address(Account.create().address)
    order_id = buy_one(shop, wallet)
    with pipeline("saga", "nft") as running:
        running.until(
            lambda: Order.objects.get(pk=order_id).status == OrderStatus.FULFILLED,
            what="order fulfilled",
            tick=_tick,
            timeout=180,
        )
    chain, address = chain_client(), shop["onchain"].address
    token_id = int(Order.objects.get(pk=order_id).lines.get().token_id)
    uri = contracts.decode_one("string", chain.call(address, contracts.token_uri_call(token_id)))
    response = Client().get(urlparse(uri).path)
    assert response.status_code == 200, response.content
    meta = response.json()
    assert meta["name"] == "Jacket #JKT-001"
    assert meta["description"] == "A jacket for your avatar."
    assert meta["image"] == "https://cdn.example.test/jacket.png"
    assert meta["animation_url"] == "https://cdn.example.test/jacket.glb"
    attributes = {a["trait_type"]: a["value"] for a in meta["attributes"]}
    assert attributes["Edition"] == "1 of 100" and attributes["Serial"] == "JKT-001"
    assert attributes["Kind"] == "Digital" and attributes["Slot"] == "torso"
    assert attributes["Token"] == str(token_id)  # {token_id} filled inside attributes too
    assert "Redeemed" not in attributes  # a digital token is not redeemable

    receiver, amount = decode(
        ["address", "uint256"], chain.call(address, contracts.royalty_info_call(token_id, 10_000))
    )
    assert to_checksum_address(receiver) == shop["payout"] and amount == 750


def test_reorg_deeper_than_confirmations_after_fulfilment_reopens_then_fulfils_with_one_token(
    merchant_nft_shop: dict[str, Any],
    gateway: Any,
    kafka_prefix: str,
    settings: Any,
) -> None:
    shop = merchant_nft_shop
    order_id = buy_one(shop, to_checksum_address(Account.create().address))
    chain = chain_client()
    with pipeline("saga", "nft") as running:
        running.until(
            lambda: Order.objects.get(pk=order_id).status == OrderStatus.FULFILLED,
            what="order fulfilled",
            tick=_tick,
            timeout=180,
        )
        mint = Mint.objects.get(order_id=order_id)
        tx = ChainTransaction.objects.get(mint=mint)
        depth = chain.block_number() - int(tx.block_number or 0) + 1
        assert depth > settings.CHAIN_CONFIRMATIONS and tx.status == TxStatus.CONFIRMED
        first_hash = tx.block_hash
        chain.rpc("anvil_reorg", [depth, []])  # the mint's block and all after it: gone
        assert chain.get_receipt(tx.tx_hash) is None

        running.until(lambda: len(outbox("order.reopened", key=order_id)) == 1, what="re-opened", tick=_tick)
        running.until(
            lambda: (
                len(outbox("order.fulfilled", key=order_id)) == 2
                and Order.objects.get(pk=order_id).status == OrderStatus.FULFILLED
            ),
            what="fulfilled again",
            tick=_tick,
            timeout=180,
        )
    events = sorted(
        outbox("order.fulfilled", key=order_id) + outbox("order.reopened", key=order_id),
        key=lambda e: e.sequence,
    )
    assert [e.type for e in events] == ["order.fulfilled", "order.reopened", "order.fulfilled"]
    reopened = events[1].payload
    assert reopened["previous_status"] == "fulfilled" and reopened["status"] == "fulfilling"
    assert reopened["line_ids"] == [mint.line_id]

    tx.refresh_from_db()
    assert tx.status == TxStatus.CONFIRMED and tx.block_hash != first_hash  # the same bytes, mined again
    assert ChainTransaction.objects.filter(mint=mint).count() == 1
    assert Mint.objects.get(pk=mint.pk).status == MintStatus.CONFIRMED
    assert total_minted(chain, shop["onchain"]) == 1
    assert len(outbox("nft.mint.requested", key=order_id)) == 1  # never asked to mint a second token
    steps = [(s.step, s.outcome) for s in SagaStep.objects.filter(order_id=order_id)]
    assert ("chain.reorg.detected", "applied") in steps
    assert steps.count(("nft.mint.confirmed", "applied")) == 2
