"""Read queries of watched-wallet activity (API feed, "My NFTs" page); none of them writes."""

import re
from typing import Any

from django.conf import settings
from eth_utils import is_checksum_address, to_checksum_address

from config.errors import NotFound
from nft.errors import InvalidAddress
from nft.models import ActivityKind, Wallet, WalletActivity

FEED_MAX = 100
ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")


def parse_address(value: str) -> str:
    """An EIP-55 address from 0x + 40 hex digits; mixed case must carry a valid checksum (typos)."""
    if not ADDRESS_RE.fullmatch(value):
        raise InvalidAddress(f"not an Ethereum address: {value!r}", details={"address": value})
    digits = value[2:]
    if digits not in (digits.lower(), digits.upper()) and not is_checksum_address(value):
        raise InvalidAddress(f"wrong EIP-55 checksum: {value!r}", details={"address": value})
    return to_checksum_address(value)


def owned_wallet(*, user_id: int, address: str) -> Wallet:
    """The user's own wallet at `address`: InvalidAddress if malformed, NotFound if not theirs.

    Someone else's wallet and no wallet at all answer the same, so the feed says nothing about
    which addresses other shoppers use.
    """
    wallet = Wallet.objects.filter(address=parse_address(address), user_id=user_id).first()
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


def standing_unknown_approvals(*, wallet: Wallet) -> list[dict[str, Any]]:
    """Approvals for all to operators that are not ours and that no later log revoked."""
    approvals = WalletActivity.objects.filter(
        wallet=wallet,
        chain_id=settings.CHAIN_ID,
        kind__in=[ActivityKind.APPROVAL_FOR_ALL, ActivityKind.APPROVAL_REVOKED],
    ).order_by("block_number", "log_index")
    latest: dict[tuple[str, str], WalletActivity] = {}
    for row in approvals:
        latest[(row.contract, row.counterparty)] = row
    return [
        activity_row(r)
        for r in latest.values()
        if r.kind == ActivityKind.APPROVAL_FOR_ALL and r.operator_known is False
    ]


def feeds_of(*, wallets: list[Wallet], limit: int = 20) -> list[dict[str, Any]]:
    """The latest activity of each of a user's wallets, with approvals to warn about ("My NFTs")."""
    return [
        {
            "wallet": w,
            "rows": [activity_row(r) for r in wallet_feed(wallet=w, limit=limit)],
            "warnings": standing_unknown_approvals(wallet=w),
        }
        for w in wallets
    ]
