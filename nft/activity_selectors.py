"""Read queries of watched-wallet activity (API feed, "My NFTs" page); none of them writes."""

from typing import Any

from django.conf import settings
from eth_utils import is_address, to_checksum_address

from config.errors import NotFound
from nft.errors import InvalidAddress
from nft.models import Wallet, WalletActivity

FEED_MAX = 100


def owned_wallet(*, user_id: int, address: str) -> Wallet:
    """The user's own wallet at `address`: InvalidAddress if malformed, NotFound if not theirs.

    Someone else's wallet and no wallet at all answer the same, so the feed says nothing about
    which addresses other shoppers use.
    """
    if not is_address(address):
        raise InvalidAddress(f"not an Ethereum address: {address!r}", details={"address": address})
    wallet = Wallet.objects.filter(address=to_checksum_address(address), user_id=user_id).first()
    if wallet is None:
        raise NotFound("no such wallet among yours")
    return wallet


def wallet_feed(*, wallet: Wallet, before: int | None = None, limit: int = 50) -> list[WalletActivity]:
    """The wallet's activity on this chain, newest first; `before` is the last id of the previous page."""
    rows = WalletActivity.objects.filter(wallet=wallet, chain_id=settings.CHAIN_ID)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    return list(rows.order_by("-pk")[: max(1, min(limit, FEED_MAX))])


def activity_row(row: WalletActivity) -> dict[str, Any]:
    """One activity entry as the API and the page show it."""
    return {
        "id": row.pk,
        "kind": row.kind,
        "token_standard": row.token_standard,
        "contract": row.contract,
        "ours": row.ours,
        "token_id": None if row.token_id is None else str(int(row.token_id)),
        "amount": None if row.amount is None else str(int(row.amount)),
        "counterparty": row.counterparty,
        "operator_known": row.operator_known,
        "tx_hash": row.tx_hash,
        "log_index": row.log_index,
        "block_number": row.block_number,
        "block_hash": row.block_hash,
        "recorded_at": row.created_at,
    }


def feeds_of(*, wallets: list[Wallet], limit: int = 20) -> list[dict[str, Any]]:
    """The latest activity of each of a user's wallets (for the "My NFTs" page)."""
    return [
        {
            "wallet": w,
            "rows": [activity_row(r) for r in wallet_feed(wallet=w, limit=limit)],
        }
        for w in wallets
    ]
