"""Wallet watcher on the real anvil: transfers and approvals of watched wallets, ERC-20, reorgs, replays."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from eth_account.signers.local import LocalAccount

from nft.chain import ChainClient
from nft.keys import anvil_account
from nft.models import ActivityKind, Wallet, WalletActivity, WalletKind, WalletWatchCursor
from nft.services.wallet_logs import fetch_logs, parse_log
from nft.services.wallet_watch import WatchResult, record_activity, watch_wallets
from nft.services.wallets import custodial_wallet
from realtime.models import OutboxEvent
from tests.nft.wallet_helpers import (
    approval_for_all_call,
    deploy_test_token,
    erc20_transfer_call,
    mint_to,
    send_as,
    send_raw_and_wait,
    sign_tx,
    transfer_nft,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

OWNER = anvil_account(5)  # the shopper's own (linked) wallet: we hold its test key to act as them
OTHER = anvil_account(6)  # a second watched wallet
STRANGER = anvil_account(7).address  # nobody we know
TOKEN_ISSUER = anvil_account(8)


@pytest.fixture(autouse=True)
def _watch_settings(settings: Any) -> None:
    settings.NFT_WALLET_WATCH_BACKFILL_BLOCKS = 0  # start at the head: earlier runs' logs are not ours


@pytest.fixture
def shopper() -> Any:
    return get_user_model().objects.create_user("watched", password="pw-123456789")


@pytest.fixture
def linked(shopper: Any) -> Wallet:
    return Wallet.objects.create(user=shopper, address=OWNER.address, kind=WalletKind.LINKED)


@pytest.fixture
def watch_until_head(chain: ChainClient) -> Callable[[], list[WatchResult]]:
    """Watcher rounds until the cursor is at the chain head (bounded; a few rounds)."""

    def run() -> list[WatchResult]:
        results = []
        for _ in range(10):
            results.append(watch_wallets())
            cursor = WalletWatchCursor.objects.first()
            if cursor is not None and cursor.block_number >= chain.block_number():
                return results
        raise AssertionError("the wallet watcher did not reach the head within 10 rounds")

    return run


def _events(type_: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(type=type_).order_by("sequence"))


def test_transfer_out_and_approval_to_stranger_are_recorded_with_events(
    chain: ChainClient,
    collection: Any,
    signer: LocalAccount,
    linked: Wallet,
    shopper: Any,
    watch_until_head: Callable[[], list[WatchResult]],
) -> None:
    watch_until_head()  # the cursor starts at the head; everything below happens after it
    minted = mint_to(chain, signer, collection, to=OWNER.address, token_id=501)
    moved = transfer_nft(chain, OWNER, collection, to=STRANGER, token_id=501)
    approved = send_as(chain, OWNER, to=collection.address, data=approval_for_all_call(STRANGER, True))
    ours_op = send_as(chain, OWNER, to=collection.address, data=approval_for_all_call(signer.address, True))
    revoked = send_as(chain, OWNER, to=collection.address, data=approval_for_all_call(STRANGER, False))
    watch_until_head()

    rows = list(WalletActivity.objects.filter(wallet=linked).order_by("block_number", "log_index"))
    assert [(r.kind, r.counterparty, r.block_number) for r in rows] == [
        (ActivityKind.TRANSFER_IN, "0x0000000000000000000000000000000000000000", minted["blockNumber"]),
        (ActivityKind.TRANSFER_OUT, STRANGER, moved["blockNumber"]),
        (ActivityKind.APPROVAL_FOR_ALL, STRANGER, approved["blockNumber"]),
        (ActivityKind.APPROVAL_FOR_ALL, signer.address, ours_op["blockNumber"]),
        (ActivityKind.APPROVAL_REVOKED, STRANGER, revoked["blockNumber"]),
    ]
    out = rows[1]
    assert out.contract == collection.address and out.ours and out.token_standard == "erc721"
    assert int(out.token_id or 0) == 501 and out.amount is None and out.operator_known is None
    assert out.tx_hash == "0x" + bytes(moved["transactionHash"]).hex()
    assert out.block_hash == "0x" + bytes(moved["blockHash"]).hex()
    assert [r.operator_known for r in rows[2:]] == [False, True, False]

    events = _events("wallet.activity_recorded")
    assert [e.payload["activity_id"] for e in events] == [r.pk for r in rows]
    assert {e.aggregateid for e in events} == {OWNER.address.lower()}
    stranger_approval = events[2].payload
    assert stranger_approval["kind"] == "approval_for_all" and stranger_approval["operator_known"] is False
    assert stranger_approval["counterparty"] == STRANGER and stranger_approval["user_id"] == shopper.pk
    assert stranger_approval["ours"] is True and stranger_approval["token_standard"] == "erc721"
    assert events[1].payload["token_id"] == "501" and "operator_known" not in events[1].payload


def test_erc20_transfer_to_custodial_wallet_is_a_transfer_in_with_the_amount(
    chain: ChainClient, shopper: Any, linked: Wallet, watch_until_head: Callable[[], list[WatchResult]]
) -> None:
    custodial = custodial_wallet(user=shopper)
    token = deploy_test_token(chain, TOKEN_ISSUER, supply=10**24)
    watch_until_head()
    amount = 1_234_567_890_123_456_789_012
    sent = send_as(chain, TOKEN_ISSUER, to=token, data=erc20_transfer_call(custodial.address, amount))
    watch_until_head()

    row = WalletActivity.objects.get(wallet=custodial)
    assert row.kind == ActivityKind.TRANSFER_IN and row.token_standard == "erc20"
    assert int(row.amount or 0) == amount and row.token_id is None
    assert row.contract == token and not row.ours and row.counterparty == TOKEN_ISSUER.address
    assert row.block_number == sent["blockNumber"]
    assert not WalletActivity.objects.filter(wallet=linked).exists()
    (event,) = _events("wallet.activity_recorded")
    assert event.aggregateid == custodial.address.lower()
    assert event.payload["amount"] == str(amount) and event.payload["token_id"] is None


def test_transfer_between_two_watched_wallets_is_one_row_each_over_chunked_filters(
    chain: ChainClient,
    collection: Any,
    signer: LocalAccount,
    shopper: Any,
    linked: Wallet,
    settings: Any,
    watch_until_head: Callable[[], list[WatchResult]],
) -> None:
    settings.NFT_WALLET_WATCH_ADDRESSES_PER_FILTER = 1  # each wallet in its own filters...
    settings.NFT_WALLET_WATCH_FILTERS_PER_REQUEST = 3  # ... spread over several batched requests
    other_user = get_user_model().objects.create_user("other", password="pw-123456789")
    other = Wallet.objects.create(user=other_user, address=OTHER.address, kind=WalletKind.LINKED)
    custodial_wallet(user=shopper)
    watch_until_head()
    mint_to(chain, signer, collection, to=OWNER.address, token_id=502)
    transfer_nft(chain, OWNER, collection, to=OTHER.address, token_id=502)
    watch_until_head()

    mine = list(WalletActivity.objects.filter(wallet=linked).values_list("kind", "counterparty"))
    theirs = list(WalletActivity.objects.filter(wallet=other).values_list("kind", "counterparty"))
    assert sorted(mine) == sorted(
        [("transfer_in", "0x0000000000000000000000000000000000000000"), ("transfer_out", OTHER.address)]
    )
    assert theirs == [("transfer_in", OWNER.address)]
    keys = sorted(e.aggregateid for e in _events("wallet.activity_recorded"))
    assert keys == sorted([OWNER.address.lower()] * 2 + [OTHER.address.lower()])


def test_same_logs_scanned_or_delivered_twice_make_one_row_and_one_event(
    chain: ChainClient,
    collection: Any,
    signer: LocalAccount,
    linked: Wallet,
    watch_until_head: Callable[[], list[WatchResult]],
) -> None:
    start = watch_until_head()[-1].head
    mint_to(chain, signer, collection, to=OWNER.address, token_id=503)
    transfer_nft(chain, OWNER, collection, to=STRANGER, token_id=503)
    watch_until_head()
    assert WalletActivity.objects.count() == 2 and len(_events("wallet.activity_recorded")) == 2

    # The same logs handed to the recorder again (a replayed batch).
    watched = {OWNER.address.lower(): _watched(linked)}
    logs = fetch_logs(chain, [OWNER.address], from_block=start, to_block=chain.block_number(), chunk=10)
    drafts = [d for log in logs for d in parse_log(log, watched)]
    assert len(drafts) == 2
    from django.db import transaction

    with transaction.atomic():
        assert record_activity(chain_id=collection.chain_id, drafts=drafts + drafts) == []

    # The cursor put back (a crash before it was saved would look the same): the range is rescanned.
    cursor = WalletWatchCursor.objects.get()
    block = chain.get_block(start)
    assert block is not None
    cursor.block_number, cursor.block_hash = start, "0x" + bytes(block["hash"]).hex()
    cursor.save()
    results = watch_until_head()
    assert any(r.scanned_from == start + 1 for r in results)
    assert WalletActivity.objects.count() == 2 and len(_events("wallet.activity_recorded")) == 2


def test_reorg_that_drops_the_transfer_removes_its_row_and_the_replacement_block_re_adds_it(
    chain: ChainClient,
    collection: Any,
    signer: LocalAccount,
    linked: Wallet,
    watch_until_head: Callable[[], list[WatchResult]],
) -> None:
    watch_until_head()
    mint_to(chain, signer, collection, to=OWNER.address, token_id=504)
    watch_until_head()
    raw = sign_tx(chain, OWNER, to=collection.address, data=transfer_call(OWNER.address, STRANGER, 504))
    receipt = send_raw_and_wait(chain, raw)
    watch_until_head()
    row = WalletActivity.objects.get(kind=ActivityKind.TRANSFER_OUT)
    old_block, old_hash = row.block_number, row.block_hash

    depth = chain.block_number() - int(receipt["blockNumber"]) + 1
    chain.rpc("anvil_reorg", [depth, []])  # the transfer's block is replaced by an empty one
    assert chain.get_receipt(row.tx_hash) is None

    result = watch_wallets()
    assert result.fork_block_number == old_block - 1 and result.removed == 1
    assert not WalletActivity.objects.filter(kind=ActivityKind.TRANSFER_OUT).exists()
    assert WalletActivity.objects.filter(kind=ActivityKind.TRANSFER_IN).count() == 1  # below the fork
    (removed,) = _events("wallet.activity_removed")
    assert removed.payload["activity_id"] == row.pk and removed.payload["tx_hash"] == row.tx_hash
    assert removed.aggregateid == OWNER.address.lower()
    watch_until_head()
    assert not WalletActivity.objects.filter(kind=ActivityKind.TRANSFER_OUT).exists()

    # The same signed transfer is mined again (the reorg put its nonce back): it is recorded anew.
    again = send_raw_and_wait(chain, raw)
    watch_until_head()
    readded = WalletActivity.objects.get(kind=ActivityKind.TRANSFER_OUT)
    assert readded.pk != row.pk and readded.tx_hash == row.tx_hash
    assert readded.block_number == again["blockNumber"] and readded.block_hash != old_hash
    recorded = [e.payload["activity_id"] for e in _events("wallet.activity_recorded")]
    assert recorded.count(readded.pk) == 1 and recorded.count(row.pk) == 1
    assert len(_events("wallet.activity_removed")) == 1


def transfer_call(sender: str, to: str, token_id: int) -> bytes:
    from nft import contracts

    return contracts.transfer_call(sender=sender, to=to, token_id=token_id)


def _watched(wallet: Wallet) -> Any:
    from nft.services.wallet_logs import WatchedWallet

    return WatchedWallet(id=wallet.pk, address=wallet.address, user_id=wallet.user_id)


def test_watch_chain_process_records_a_transfer_out_and_a_stranger_approval(
    chain: ChainClient, collection: Any, signer: LocalAccount, linked: Wallet, settings: Any, tmp_path: Path
) -> None:
    """The real `manage.py watch_chain` loop runs the watcher next to the confirmer."""
    import signal
    import subprocess
    import sys
    import time

    from tests.nft.helpers import REPO, subprocess_env

    env = subprocess_env(settings, NFT_WALLET_WATCH_BACKFILL_BLOCKS="0", NFT_POLL_INTERVAL_SECONDS="0.2")
    log = tmp_path / "watch_chain.log"  # a file, not a pipe: a full pipe would block the process
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "watch_chain"], cwd=REPO, env=env, stdout=sink, stderr=sink
        )

    def wait_for(done: Callable[[], bool], what: str) -> None:
        for _ in range(1200):  # bounded: polls, not a timing assertion
            if done():
                return
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.1)
        raise AssertionError(f"watch_chain never got to: {what}\n{log.read_text()[-3000:]}")

    try:
        wait_for(lambda: WalletWatchCursor.objects.exists(), "start its cursor")
        mint_to(chain, signer, collection, to=OWNER.address, token_id=505)
        moved = transfer_nft(chain, OWNER, collection, to=STRANGER, token_id=505)
        approved = send_as(chain, OWNER, to=collection.address, data=approval_for_all_call(STRANGER, True))
        wait_for(
            lambda: WalletActivity.objects.filter(kind=ActivityKind.APPROVAL_FOR_ALL).exists(),
            "record activity",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

    out = WalletActivity.objects.get(kind=ActivityKind.TRANSFER_OUT)
    assert out.block_number == moved["blockNumber"] and out.counterparty == STRANGER
    approval = WalletActivity.objects.get(kind=ActivityKind.APPROVAL_FOR_ALL)
    assert approval.block_number == approved["blockNumber"] and approval.operator_known is False
    payloads = {e.payload["kind"]: e.payload for e in _events("wallet.activity_recorded")}
    assert payloads["approval_for_all"]["operator_known"] is False
    assert payloads["transfer_out"]["counterparty"] == STRANGER


def test_two_watchers_racing_record_each_log_once(
    chain: ChainClient,
    collection: Any,
    signer: LocalAccount,
    linked: Wallet,
    watch_until_head: Callable[[], list[WatchResult]],
) -> None:
    import threading

    from django.db import connection

    watch_until_head()
    for token_id in (506, 507, 508):
        mint_to(chain, signer, collection, to=OWNER.address, token_id=token_id)
        transfer_nft(chain, OWNER, collection, to=STRANGER, token_id=token_id)
    head = chain.block_number()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def watcher() -> None:
        try:
            barrier.wait()
            for _ in range(20):
                if WalletWatchCursor.objects.get().block_number >= head:
                    break
                watch_wallets(max_blocks=2)  # small steps: many chances to collide
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=watcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert WalletWatchCursor.objects.get().block_number >= head
    rows = WalletActivity.objects.filter(wallet=linked)
    assert rows.count() == 6 and rows.filter(kind=ActivityKind.TRANSFER_OUT).count() == 3
    ids = [e.payload["activity_id"] for e in _events("wallet.activity_recorded")]
    assert sorted(ids) == sorted(rows.values_list("pk", flat=True))
