"""Wallet watcher: Transfer / ApprovalForAll logs of every linked and custodial wallet, reorg-safe.

One round (`watch_wallets`) reads from the node first, then writes in one database transaction:
1. the cursor's block must still be canonical; if not, the fork is found from the hashes of the
   blocks scanned (`recent_hashes`), activity after it is removed (`wallet.activity_removed`) and the
   cursor goes back to the fork — the next round scans the replacement blocks;
2. otherwise the headers of the next blocks are read (each must chain onto the previous one), then
   the wallets' logs in them (`nft.services.wallet_logs`, batched per chunk of addresses); a log whose
   block hash is not the header's cuts the batch there (the chain moved while we read);
3. new rows are stored (a log already stored is skipped: one row per chain, tx, log index, wallet),
   each with `wallet.activity_recorded`, and the cursor moves to the last block — all in one
   transaction under the cursor's row lock, so two watchers never both write a range.

Independent of the block confirmer (its own cursor and reorg detection), so it can lag or lead it.
"""

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from config.errors import ApplicationError
from nft.chain import ChainClient, client
from nft.keys import signer_pool
from nft.models import (
    Collection,
    SenderAccount,
    TokenStandard,
    Wallet,
    WalletActivity,
    WalletKind,
    WalletWatchCursor,
)
from nft.services.wallet_logs import ActivityDraft, WatchedWallet, fetch_logs, parse_log
from realtime.outbox import emit_many

logger = logging.getLogger(__name__)


@dataclass
class WatchResult:
    """What one watcher round did."""

    head: int
    scanned_from: int | None = None
    scanned_to: int | None = None
    recorded: int = 0
    removed: int = 0
    fork_block_number: int | None = None  # set when the round rewound after a reorg

    @property
    def more_to_do(self) -> bool:
        """The watcher is behind the head (or just rewound): the next round should not wait."""
        return self.fork_block_number is not None or (
            self.scanned_to is not None and self.scanned_to < self.head
        )


def _hash(block: dict[str, Any]) -> str:
    value = block["hash"]
    return (value if isinstance(value, str) else "0x" + bytes(value).hex()).lower()


def watch_wallets(*, max_blocks: int | None = None) -> WatchResult:
    """Run one watcher round (see module docstring)."""
    c = client()
    chain_id = int(settings.CHAIN_ID)
    head = c.block_number()
    cursor = WalletWatchCursor.objects.filter(chain_id=chain_id).first()
    if cursor is None:
        _start_cursor(c, chain_id, max(0, head - settings.NFT_WALLET_WATCH_BACKFILL_BLOCKS))
        return WatchResult(head=head)
    on_chain = c.get_block(cursor.block_number)
    if on_chain is None or _hash(on_chain) != cursor.block_hash:
        return _rewind(c, cursor, head)

    start = cursor.block_number + 1
    end = min(head, start + (max_blocks or settings.NFT_WALLET_WATCH_BATCH_BLOCKS) - 1)
    if end < start:
        return WatchResult(head=head)
    blocks, prev = [], cursor.block_hash
    for block in c.get_blocks(list(range(start, end + 1))):
        if block is None or str(block["parentHash"]).lower() != prev:
            break  # the chain moved under us; the next round's cursor check sees it
        blocks.append(block)
        prev = _hash(block)
    if not blocks:
        return WatchResult(head=head)
    hashes = {int(b["number"]): _hash(b) for b in blocks}
    watched = _watched_wallets()
    drafts: list[ActivityDraft] = []
    last = int(blocks[-1]["number"])
    if watched:
        logs = fetch_logs(
            c,
            [w.address for w in watched.values()],
            from_block=start,
            to_block=last,
            chunk=settings.NFT_WALLET_WATCH_ADDRESSES_PER_FILTER,
            per_request=settings.NFT_WALLET_WATCH_FILTERS_PER_REQUEST,
        )
        cut = last + 1
        for log in logs:
            number = int(log["blockNumber"], 16)
            if hashes.get(number) != str(log["blockHash"]).lower():
                cut = min(cut, number)
        last = cut - 1
        drafts = [d for log in logs for d in parse_log(log, watched) if d.block_number <= last]
    if last < start:
        return WatchResult(head=head)
    recent = {str(n): h for n, h in hashes.items() if n <= last}
    with transaction.atomic():
        locked = _lock_cursor(cursor)
        if locked is None:
            return WatchResult(head=head)  # another watcher moved the cursor; nothing written
        recorded = record_activity(chain_id=chain_id, drafts=drafts)
        _move_cursor(locked, number=last, block_hash=hashes[last], add=recent)
    return WatchResult(head=head, scanned_from=start, scanned_to=last, recorded=len(recorded))


def _start_cursor(c: ChainClient, chain_id: int, number: int) -> None:
    """Watching starts after block `number` (NFT_WALLET_WATCH_BACKFILL_BLOCKS before the head)."""
    block = c.get_block(number)
    if block is None:
        return
    try:
        with transaction.atomic():
            WalletWatchCursor.objects.create(
                chain_id=chain_id, block_number=number, block_hash=_hash(block), recent_hashes={}
            )
    except IntegrityError:
        pass  # another watcher started it first


def _lock_cursor(seen: WalletWatchCursor) -> WalletWatchCursor | None:
    """The cursor row under lock, or None when it is no longer where this round read it."""
    locked = WalletWatchCursor.objects.select_for_update().get(pk=seen.pk)
    if (locked.block_number, locked.block_hash) != (seen.block_number, seen.block_hash):
        return None
    return locked


def _move_cursor(
    cursor: WalletWatchCursor, *, number: int, block_hash: str, add: dict[str, str] | None = None
) -> None:
    """Set the cursor and keep the hashes of the last NFT_BLOCK_WINDOW blocks scanned."""
    kept = {k: v for k, v in cursor.recent_hashes.items() if int(k) <= number} | (add or {})
    floor = number - settings.NFT_BLOCK_WINDOW
    cursor.recent_hashes = {k: v for k, v in kept.items() if int(k) > floor}
    cursor.block_number, cursor.block_hash = number, block_hash
    cursor.save(update_fields=["block_number", "block_hash", "recent_hashes", "updated_at"])


def _watched_wallets() -> dict[str, WatchedWallet]:
    """Every linked and custodial wallet, by lower-case address."""
    rows = Wallet.objects.values_list("pk", "address", "user_id")
    return {address.lower(): WatchedWallet(id=pk, address=address, user_id=uid) for pk, address, uid in rows}


def platform_addresses(chain_id: int) -> set[str]:
    """Addresses the platform itself controls (lower case): an approval to one of them is expected."""
    known = set(SenderAccount.objects.filter(chain_id=chain_id).values_list("address", flat=True))
    known |= set(Collection.objects.filter(chain_id=chain_id).values_list("address", flat=True))
    known |= set(Wallet.objects.filter(kind=WalletKind.CUSTODIAL).values_list("address", flat=True))
    known |= set(settings.NFT_PLATFORM_OPERATORS)
    with contextlib.suppress(ApplicationError):  # no signer configured here: nothing to add
        known |= {a.address for a in signer_pool()}
    return {a.lower() for a in known}


def record_activity(*, chain_id: int, drafts: list[ActivityDraft]) -> list[WalletActivity]:
    """Store drafts not stored yet and emit `wallet.activity_recorded` for each; inside atomic.

    Idempotent: a log already recorded for a wallet (scanned twice, delivered twice) is skipped.
    The caller holds the cursor's row lock, so no other watcher inserts the same keys meanwhile.
    """
    if not drafts:
        return []
    existing = set(
        WalletActivity.objects.filter(chain_id=chain_id, tx_hash__in={d.tx_hash for d in drafts}).values_list(
            "tx_hash", "log_index", "wallet_id"
        )
    )
    fresh: dict[tuple[str, int, int], ActivityDraft] = {}
    for d in drafts:
        if d.key not in existing:
            fresh.setdefault(d.key, d)
    if not fresh:
        return []
    ours = {
        a.lower()
        for a in Collection.objects.filter(
            chain_id=chain_id, address__in={d.contract for d in fresh.values()}
        ).values_list("address", flat=True)
    }
    operators = platform_addresses(chain_id) if any(d.approved_operator for d in fresh.values()) else set()
    rows = WalletActivity.objects.bulk_create(
        [
            WalletActivity(
                chain_id=chain_id,
                wallet_id=d.wallet.id,
                kind=d.kind,
                token_standard=(
                    TokenStandard.ERC721
                    if d.approved_operator and d.contract.lower() in ours
                    else d.token_standard
                ),
                contract=d.contract,
                token_id=d.token_id,
                amount=d.amount,
                counterparty=d.counterparty,
                ours=d.contract.lower() in ours,
                operator_known=(d.counterparty.lower() in operators) if d.approved_operator else None,
                tx_hash=d.tx_hash,
                log_index=d.log_index,
                block_number=d.block_number,
                block_hash=d.block_hash,
            )
            for d in fresh.values()
        ]
    )
    users = {d.wallet.id: d.wallet for d in fresh.values()}
    emit_many(
        (
            "wallet.activity_recorded",
            users[r.wallet_id].address.lower(),
            activity_payload(r, users[r.wallet_id]),
        )
        for r in rows
    )
    return rows


def activity_payload(row: WalletActivity, wallet: WatchedWallet) -> dict[str, Any]:
    """The `wallet.activity_*` event payload of a row (contract in realtime/schemas/)."""
    payload: dict[str, Any] = {
        "activity_id": row.pk,
        "chain_id": row.chain_id,
        "wallet_address": wallet.address,
        "user_id": wallet.user_id,
        "kind": row.kind,
        "contract": row.contract,
        "token_standard": row.token_standard,
        "token_id": None if row.token_id is None else str(int(row.token_id)),
        "amount": None if row.amount is None else str(int(row.amount)),
        "counterparty": row.counterparty,
        "ours": row.ours,
        "tx_hash": row.tx_hash,
        "log_index": row.log_index,
        "block_number": row.block_number,
    }
    if row.operator_known is not None:
        payload["operator_known"] = row.operator_known
    return payload


def _rewind(c: ChainClient, cursor: WalletWatchCursor, head: int) -> WatchResult:
    """A reorg replaced the cursor's block: go back to the fork, removing activity recorded after it."""
    recent = {int(k): v for k, v in cursor.recent_hashes.items()}
    recent.setdefault(cursor.block_number, cursor.block_hash)
    numbers = sorted(recent, reverse=True)
    fork, fork_hash = None, ""
    for number, block in zip(numbers, c.get_blocks(numbers), strict=True):
        if block is not None and _hash(block) == recent[number]:
            fork, fork_hash = number, recent[number]
            break
    if fork is None:
        # Deeper than the window of hashes kept: start again just below it (older rows cannot be
        # checked — the same limit as the block confirmer's NFT_BLOCK_WINDOW).
        fork = max(0, numbers[-1] - 1)
        block = c.get_block(fork)
        if block is None:
            return WatchResult(head=head)
        fork_hash = _hash(block)
    with transaction.atomic():
        locked = _lock_cursor(cursor)
        if locked is None:
            return WatchResult(head=head)
        removed = remove_activity_after(chain_id=cursor.chain_id, block_number=fork)
        _move_cursor(locked, number=fork, block_hash=fork_hash)
    logger.warning("wallet watch: reorg after block %s, %s activity rows removed", fork, removed)
    return WatchResult(head=head, removed=removed, fork_block_number=fork)


def remove_activity_after(*, chain_id: int, block_number: int) -> int:
    """Delete activity of blocks after `block_number` (reorged away), each with `wallet.activity_removed`.

    Must run inside the caller's transaction (the cursor moves back in the same one).
    """
    rows = list(
        WalletActivity.objects.select_for_update()
        .filter(chain_id=chain_id, block_number__gt=block_number)
        .select_related("wallet")
        .order_by("pk")
    )
    if not rows:
        return 0
    emit_many(
        (
            "wallet.activity_removed",
            r.wallet.address.lower(),
            activity_payload(
                r, WatchedWallet(id=r.wallet_id, address=r.wallet.address, user_id=r.wallet.user_id)
            ),
        )
        for r in rows
    )
    WalletActivity.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return len(rows)


def run_round() -> bool:
    """One round for the `watch_chain` loop: True when it is behind and the loop should not sleep.

    A node or database hiccup is logged, not raised, so the confirmer in the same loop keeps going.
    """
    if not settings.NFT_WALLET_WATCH_ENABLED:
        return False
    try:
        return watch_wallets().more_to_do
    except ApplicationError as exc:
        logger.warning("wallet watch round failed: %s", exc.message)
        return False
