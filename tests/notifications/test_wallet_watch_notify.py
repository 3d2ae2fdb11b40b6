"""h8's wallet watcher on the real anvil -> `wallet.activity_recorded` -> Kafka -> notify -> Mailpit:
an approval-for-all to an operator we do not know is a warning; one to our own signer is not; a
transfer out is a wallet e-mail."""

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from nft.chain import ChainClient
from nft.keys import anvil_account
from nft.models import Wallet, WalletKind, WalletWatchCursor
from nft.services.wallet_watch import watch_wallets
from notifications.models import Notification
from tests.nft.conftest import chain, collection, signer  # noqa: F401  (fixtures)
from tests.nft.wallet_helpers import approval_for_all_call, mint_to, send_as, transfer_nft
from tests.notifications.mailpit import MailpitApi
from tests.payments.pipeline import pipeline

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

OWNER = anvil_account(5)
STRANGER = anvil_account(9).address


def watch_to_head(chain_: ChainClient) -> None:
    for _ in range(10):
        watch_wallets()
        cursor = WalletWatchCursor.objects.first()
        if cursor is not None and cursor.block_number >= chain_.block_number():
            return
    raise AssertionError("the wallet watcher did not reach the head within 10 rounds")


def test_watched_wallet_approval_to_a_stranger_sends_a_warning_and_a_transfer_a_notice(
    chain: ChainClient,  # noqa: F811
    collection: Any,  # noqa: F811
    signer: LocalAccount,  # noqa: F811
    make_person: Any,
    kafka_prefix: str,
    mailpit: MailpitApi,
    eager_celery: None,
    settings: Any,
) -> None:
    settings.NFT_WALLET_WATCH_BACKFILL_BLOCKS = 0
    shopper = make_person()
    Wallet.objects.create(user=shopper, address=OWNER.address, kind=WalletKind.LINKED)
    watch_to_head(chain)
    mint_to(chain, signer, collection, to=OWNER.address, token_id=9101)
    transfer_nft(chain, OWNER, collection, to=STRANGER, token_id=9101)
    send_as(chain, OWNER, to=collection.address, data=approval_for_all_call(STRANGER, True))
    send_as(chain, OWNER, to=collection.address, data=approval_for_all_call(signer.address, True))
    watch_to_head(chain)
    with pipeline("notify") as running:
        running.until(
            lambda: Notification.objects.filter(user=shopper).count() >= 3, what="wallet notifications"
        )
    kinds = sorted(Notification.objects.filter(user=shopper).values_list("kind", flat=True))
    # mint (transfer in), transfer out, the stranger's approval; our own signer's approval: nothing
    assert kinds == ["wallet_approval_warning", "wallet_transfer_in", "wallet_transfer_out"]
    found = {m["Subject"]: m for m in mailpit.wait_for(shopper.email, count=3)}
    warning = found["Warning: your wallet approved an unknown operator for all its tokens"]
    text = mailpit.message(warning["ID"])["Text"]
    assert STRANGER in text and collection.address in text
    assert "token #9101 of our collection left your wallet" in found
