"""Parsing raw logs into wallet activity: ERC-721 vs ERC-20 by topic count, approvals, filters."""

from decimal import Decimal
from typing import Any

from nft.contracts import TRANSFER_TOPIC
from nft.services.wallet_logs import APPROVAL_FOR_ALL_TOPIC, WatchedWallet, filters_for, padded, parse_log

WALLET = WatchedWallet(id=1, address="0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc", user_id=7)
OTHER = WatchedWallet(id=2, address="0x976EA74026E726554dB657fA54763abd0C3a0aa9", user_id=8)
STRANGER = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955"
WATCHED = {WALLET.address.lower(): WALLET, OTHER.address.lower(): OTHER}


def _log(topics: list[str], data: str = "0x") -> dict[str, Any]:
    return {
        "address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "topics": topics,
        "data": data,
        "transactionHash": "0x" + "ab" * 32,
        "logIndex": "0x3",
        "blockNumber": "0x10",
        "blockHash": "0x" + "cd" * 32,
    }


def test_four_topic_transfer_is_erc721_with_the_token_id() -> None:
    (draft,) = parse_log(
        _log([TRANSFER_TOPIC, padded(WALLET.address), padded(STRANGER), "0x" + f"{77:064x}"]), WATCHED
    )
    assert (draft.kind, draft.token_standard, draft.token_id, draft.amount) == (
        "transfer_out",
        "erc721",
        Decimal(77),
        None,
    )
    assert draft.counterparty == STRANGER and draft.block_number == 16 and draft.log_index == 3
    assert draft.contract == "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def test_three_topic_transfer_is_erc20_with_the_amount_from_data() -> None:
    amount = 10**30 + 5
    (draft,) = parse_log(
        _log([TRANSFER_TOPIC, padded(STRANGER), padded(WALLET.address)], "0x" + f"{amount:064x}"), WATCHED
    )
    assert (draft.kind, draft.token_standard, draft.amount, draft.token_id) == (
        "transfer_in",
        "erc20",
        Decimal(amount),
        None,
    )
    assert draft.counterparty == STRANGER


def test_transfer_between_two_watched_wallets_concerns_both_and_self_transfer_once() -> None:
    both = parse_log(
        _log([TRANSFER_TOPIC, padded(WALLET.address), padded(OTHER.address), "0x" + "00" * 32]), WATCHED
    )
    assert {(d.wallet.id, d.kind, d.counterparty) for d in both} == {
        (1, "transfer_out", OTHER.address),
        (2, "transfer_in", WALLET.address),
    }
    (self_transfer,) = parse_log(
        _log([TRANSFER_TOPIC, padded(WALLET.address), padded(WALLET.address), "0x" + "00" * 32]), WATCHED
    )
    assert self_transfer.kind == "transfer_out"


def test_approval_for_all_and_its_revocation() -> None:
    topics = [APPROVAL_FOR_ALL_TOPIC, padded(WALLET.address), padded(STRANGER)]
    (granted,) = parse_log(_log(topics, "0x" + f"{1:064x}"), WATCHED)
    (revoked,) = parse_log(_log(topics, "0x" + "00" * 32), WATCHED)
    assert (granted.kind, revoked.kind) == ("approval_for_all", "approval_revoked")
    assert granted.counterparty == STRANGER and granted.approved_operator and granted.token_id is None
    # An approval *to* a watched wallet by someone else is not that wallet's activity.
    assert (
        parse_log(
            _log([APPROVAL_FOR_ALL_TOPIC, padded(STRANGER), padded(WALLET.address)], "0x" + f"{1:064x}"),
            WATCHED,
        )
        == []
    )


def test_unrelated_logs_are_ignored() -> None:
    approval = "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"  # ERC-20 Approval
    assert (
        parse_log(_log([approval, padded(WALLET.address), padded(STRANGER)], "0x" + "00" * 32), WATCHED) == []
    )
    assert (
        parse_log(_log([TRANSFER_TOPIC, padded(STRANGER), padded(STRANGER), "0x" + "00" * 32]), WATCHED) == []
    )
    assert parse_log(_log([]), WATCHED) == []


def test_filters_put_the_wallets_in_indexed_topic_lists() -> None:
    out_or_approval, incoming = filters_for([WALLET.address, OTHER.address], from_block=5, to_block=9)
    assert out_or_approval["topics"] == [
        [TRANSFER_TOPIC, APPROVAL_FOR_ALL_TOPIC],
        [padded(WALLET.address), padded(OTHER.address)],
    ]
    assert incoming["topics"] == [TRANSFER_TOPIC, None, [padded(WALLET.address), padded(OTHER.address)]]
    assert (incoming["fromBlock"], incoming["toBlock"]) == ("0x5", "0x9") and "address" not in incoming
    assert padded(WALLET.address) == "0x" + "00" * 12 + WALLET.address[2:].lower()
