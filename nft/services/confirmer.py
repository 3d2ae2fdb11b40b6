"""Block confirmer: follow new heads, record our transactions' blocks, confirm at N, survive reorgs.

One round (`confirm_blocks`) reads from the node first, then writes in one database transaction:
1. the stored tip must still be canonical, otherwise walk back to the common ancestor, rewind
   everything recorded after it, emit `chain.reorg.detected` and re-send the affected raw
   transactions (a reorg drops them from chain and pool);
2. new blocks are stored (window of NFT_BLOCK_WINDOW), each checked against its parent's hash;
3. our transactions found in them become `included`; Transfer logs of our collections are indexed;
4. transactions at >= CHAIN_CONFIRMATIONS (or, with CHAIN_FINALITY=finalized, in a block the node
   reports finalized) become `confirmed` (`nft.mint.confirmed`) or, if they
   reverted, `failed` (`nft.mint.failed`).
"""

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from monitoring.metrics import observe_confirmation
from nft.chain import ChainClient, client
from nft.contracts import TRANSFER_TOPIC
from nft.models import Block, ChainTransaction, Claim, ClaimStatus, Collection, Mint, MintStatus, TxStatus
from nft.models.chain import LIVE_STATUSES
from nft.services.finality import final_block_number, uses_finalized_tag
from nft.services.indexer import apply_transfers, parse_transfer, rollback_after
from nft.services.locks import lock_mints, lock_transactions
from nft.services.mint_events import emit_mint_failed, prepare_mint_confirmed
from nft.services.mints import resend_dropped_mints
from nft.services.transactions import rebroadcast_pending
from nft.services.wallets import settle_claim
from realtime.events import Event
from realtime.outbox import emit, emit_prepared
from realtime.tracing import stored_span

logger = logging.getLogger(__name__)


@dataclass
class RoundResult:
    """What one confirmer round did."""

    head: int
    stored_tip: int | None = None
    new_blocks: int = 0
    included: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    reorg: dict[str, Any] | None = None


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def confirm_blocks(*, max_blocks: int | None = None) -> RoundResult:
    """Run one confirmer round (see module docstring); safe to call from one process at a time."""
    c = client()
    chain_id = settings.CHAIN_ID
    head = c.block_number()
    tip = Block.objects.filter(chain_id=chain_id).order_by("-number").first()
    if tip is not None:
        on_chain = c.get_block(tip.number)
        if on_chain is None or _hex(on_chain["hash"]) != tip.hash:
            return RoundResult(head=head, stored_tip=tip.number, reorg=handle_reorg(c, tip))
        start, prev_hash = tip.number + 1, tip.hash
    else:
        start, prev_hash = _first_block(chain_id, head), None
    end = min(head, start + (max_blocks or settings.NFT_CONFIRMER_BATCH_BLOCKS) - 1)

    blocks: list[dict[str, Any]] = []
    for block in c.get_blocks(list(range(start, end + 1))) if end >= start else []:
        if block is None or (prev_hash is not None and _hex(block["parentHash"]) != prev_hash):
            break  # the chain moved under us; the next round's tip check sees it
        blocks.append(block)
        prev_hash = _hex(block["hash"])
    receipts, transfers, blocks = _read_block_contents(c, chain_id, blocks)
    final = final_block_number(c, head=head) if uses_finalized_tag() else None

    result = RoundResult(head=head, stored_tip=tip.number if tip else None)
    with transaction.atomic():
        if blocks:
            Block.objects.bulk_create(
                [
                    Block(
                        chain_id=chain_id,
                        number=int(b["number"]),
                        hash=_hex(b["hash"]),
                        parent_hash=_hex(b["parentHash"]),
                        timestamp=int(b["timestamp"]),
                    )
                    for b in blocks
                ]
            )
            result.new_blocks = len(blocks)
            result.stored_tip = int(blocks[-1]["number"])
            result.included = _record_inclusions(receipts)
            apply_transfers(transfers)
            Block.objects.filter(
                chain_id=chain_id, number__lt=result.stored_tip - settings.NFT_BLOCK_WINDOW
            ).delete()
        if result.stored_tip is not None:
            result.confirmed = _confirm_up_to(chain_id, result.stored_tip, final=final)
    if result.stored_tip is not None and not result.new_blocks:
        _sweep_missed(c, chain_id, result.stored_tip, final=final)
    return result


def _first_block(chain_id: int, head: int) -> int:
    """Where a confirmer with no history starts: the backfill window, or our oldest collection."""
    start = max(0, head - settings.NFT_CONFIRMER_BACKFILL_BLOCKS)
    oldest = Collection.objects.filter(chain_id=chain_id, deploy_block__isnull=False).order_by("deploy_block")
    first = oldest.values_list("deploy_block", flat=True).first()
    return min(start, int(first)) if first is not None else start


def _sweep_missed(c: ChainClient, chain_id: int, tip: int, limit: int = 20, final: int | None = None) -> None:
    """Record transactions mined in blocks the confirmer never scanned (before its first block)."""
    cutoff = timezone.now() - timedelta(seconds=settings.NFT_REBROADCAST_AFTER_SECONDS)
    lowest = (
        Block.objects.filter(chain_id=chain_id).order_by("number").values_list("number", flat=True).first()
    )
    stale = ChainTransaction.objects.filter(
        chain_id=chain_id, status=TxStatus.SUBMITTED, last_sent_at__lt=cutoff
    )
    found = []
    for tx_hash in stale.order_by("last_sent_at").values_list("tx_hash", flat=True)[:limit]:
        receipt = c.get_receipt(tx_hash)
        if receipt is not None and lowest is not None and int(receipt["blockNumber"]) < lowest:
            found.append(receipt)
    if found:
        with transaction.atomic():
            _record_inclusions(found)
            _confirm_up_to(chain_id, tip, final=final)


def _read_block_contents(
    c: ChainClient, chain_id: int, blocks: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[Any], list[dict[str, Any]]]:
    """Receipts of our transactions and Transfer logs of our collections in `blocks`.

    Everything read must carry the hash of the block we fetched; at the first mismatch the
    batch is cut there (a reorg happened while we were reading).
    """
    if not blocks:
        return [], [], blocks
    by_hash = {_hex(h): int(b["number"]) for b in blocks for h in b["transactions"]}
    ours = list(
        ChainTransaction.objects.filter(chain_id=chain_id, tx_hash__in=list(by_hash)).values_list(
            "tx_hash", flat=True
        )
    )
    hashes = {int(b["number"]): _hex(b["hash"]) for b in blocks}
    cut = int(blocks[-1]["number"]) + 1
    receipts = []
    for h, receipt in zip(ours, c.get_receipts(ours), strict=True):
        if receipt is None or hashes.get(int(receipt["blockNumber"])) != _hex(receipt["blockHash"]):
            cut = min(cut, by_hash[h])
            continue
        receipts.append(receipt)
    addresses = list(Collection.objects.filter(chain_id=chain_id).values_list("address", flat=True))
    transfers = []
    if addresses:
        logs = c.get_logs_raw(
            from_block=int(blocks[0]["number"]),
            to_block=int(blocks[-1]["number"]),
            addresses=addresses,
            topics=[TRANSFER_TOPIC],
        )
        for log in logs:
            if hashes.get(int(log["blockNumber"])) != _hex(log["blockHash"]):
                cut = min(cut, int(log["blockNumber"]))
            elif len(log["topics"]) == 4:  # ERC-721 Transfer (ERC-20's has 3 topics)
                transfers.append(parse_transfer(log, chain_id))
    blocks = [b for b in blocks if int(b["number"]) < cut]
    receipts = [r for r in receipts if int(r["blockNumber"]) < cut]
    transfers = [t for t in transfers if t.block_number < cut]
    return receipts, transfers, blocks


def _record_inclusions(receipts: list[dict[str, Any]]) -> list[str]:
    """Our transactions found in canonical blocks become `included` (a fixed number of queries per round)."""
    by_hash = {_hex(r["transactionHash"]): r for r in receipts}
    if not by_hash:
        return []
    txs = list(lock_transactions(ChainTransaction.objects.filter(tx_hash__in=list(by_hash))).order_by("pk"))
    # A same-nonce sibling lost the race (a replacement, or the original it replaced).
    nonces: dict[int, list[int]] = defaultdict(list)
    for tx in txs:
        nonces[tx.sender_id].append(tx.nonce)
    siblings = Q()
    for sender_id, sender_nonces in nonces.items():
        siblings |= Q(sender_id=sender_id, nonce__in=sender_nonces)
    ChainTransaction.objects.filter(siblings, status__in=LIVE_STATUSES).exclude(
        pk__in=[tx.pk for tx in txs]
    ).update(status=TxStatus.REPLACED)
    now = timezone.now()
    rows = []
    for tx in txs:
        receipt = by_hash[tx.tx_hash]
        tx.status = TxStatus.INCLUDED
        tx.block_number = int(receipt["blockNumber"])
        tx.block_hash = _hex(receipt["blockHash"])
        tx.gas_used = int(receipt["gasUsed"])
        tx.receipt_status = int(receipt["status"])
        tx.updated_at = now
        rows.append([tx.pk, tx.block_number, tx.block_hash, tx.gas_used, tx.receipt_status])
    # One statement, its rows as one JSON array: Django's bulk_update builds a CASE per field and
    # row, which cost this loop a second per hundred receipts under load (1 s blocks at 100 tx each).
    with connection.cursor() as cursor:
        cursor.execute(_INCLUDED_SQL, [TxStatus.INCLUDED.value, now, json.dumps(rows)])
    minting = [tx.pk for tx in txs if tx.mint_id is not None]
    if minting:
        Mint.objects.filter(pk__in=[tx.mint_id for tx in txs if tx.mint_id is not None]).exclude(
            status=MintStatus.CONFIRMED
        ).update(
            current_tx=Subquery(
                ChainTransaction.objects.filter(mint_id=OuterRef("pk"), pk__in=minting).values("pk")[:1]
            )
        )
    return [tx.tx_hash for tx in txs]


_TX_TABLE = ChainTransaction._meta.db_table
_INCLUDED_SQL = f"""
UPDATE {_TX_TABLE} AS t
SET status = %s, updated_at = %s, block_number = (r ->> 1)::bigint, block_hash = r ->> 2,
    gas_used = (r ->> 3)::bigint, receipt_status = (r ->> 4)::smallint
FROM jsonb_array_elements(%s::jsonb) AS r
WHERE t.id = (r ->> 0)::bigint
"""  # noqa: S608 (the table name is ours; values are bound parameters)


def _confirm_up_to(chain_id: int, tip: int, *, final: int | None = None) -> list[str]:
    """Confirm included transactions at CHAIN_CONFIRMATIONS deep, or up to the `final` block when given."""
    limit = tip - settings.CHAIN_CONFIRMATIONS + 1 if final is None else min(tip, final)
    ready = list(
        lock_transactions(
            ChainTransaction.objects.filter(
                chain_id=chain_id, status=TxStatus.INCLUDED, block_number__lte=limit
            )
        ).order_by("block_number", "pk")
    )
    if not ready:
        return []
    now = timezone.now()
    for status, rows in (
        (TxStatus.CONFIRMED, [tx for tx in ready if tx.receipt_status == 1]),
        (TxStatus.FAILED, [tx for tx in ready if tx.receipt_status != 1]),
    ):
        if rows:
            ChainTransaction.objects.filter(pk__in=[tx.pk for tx in rows]).update(
                status=status, confirmations=tip + 1 - F("block_number"), updated_at=now
            )
        for tx in rows:
            tx.status, tx.confirmations = status, tip - int(tx.block_number or 0) + 1
    _settle_mints([tx for tx in ready if tx.mint_id is not None])
    for tx in ready:
        if tx.claim_id is not None and tx.kind == "claim":
            settle_claim(claim_id=tx.claim_id, ok=tx.status == TxStatus.CONFIRMED, tx_hash=tx.tx_hash)
        observe_confirmation(tx.kind, (now - tx.created_at).total_seconds())
    return [tx.tx_hash for tx in ready]


def _settle_mints(txs: list[ChainTransaction]) -> None:
    """The business effect of final transactions: the mints they carried are done (one batch)."""
    if not txs:
        return
    mints = {
        m.pk: m
        for m in lock_mints(
            Mint.objects.filter(pk__in=[tx.mint_id for tx in txs]).select_related("collection")
        )
    }
    confirmed: list[Mint] = []
    events: list[tuple[Event, str]] = []  # prepared under each purchase's span, written at once
    for tx in txs:
        mint = mints[int(tx.mint_id or 0)]
        if mint.current_tx_id != tx.pk or mint.status in (MintStatus.CONFIRMED, MintStatus.FAILED):
            continue
        with stored_span(
            "chainwatch confirm",
            tx.traceparent,
            attributes={
                "mintdrop.tx.hash": tx.tx_hash,
                "mintdrop.tx.block": int(tx.block_number or 0),
                "mintdrop.tx.confirmations": tx.confirmations,
            },
        ):
            if tx.status == TxStatus.CONFIRMED:
                confirmed.append(mint)
                events.append(prepare_mint_confirmed(mint, tx, tx.confirmations))
                continue
            mint.status, mint.failure_reason = MintStatus.FAILED, f"transaction {tx.tx_hash} reverted"
            mint.save(update_fields=["status", "failure_reason", "updated_at"])
            emit_mint_failed(mint, reason=mint.failure_reason, tx_hash=tx.tx_hash)
    if confirmed:
        now = timezone.now()
        Mint.objects.filter(pk__in=[m.pk for m in confirmed]).update(
            status=MintStatus.CONFIRMED, confirmed_at=now, updated_at=now
        )
        emit_prepared(events)


def handle_reorg(c: ChainClient, tip: Block) -> dict[str, Any]:
    """Walk back to the last block we share with the node, rewind after it, re-send what it dropped."""
    chain_id = tip.chain_id
    fork = None
    for stored in Block.objects.filter(chain_id=chain_id).order_by("-number").only("number", "hash"):
        on_chain = c.get_block(stored.number)
        if on_chain is not None and _hex(on_chain["hash"]) == stored.hash:
            fork = stored.number
            break
    lowest = (
        Block.objects.filter(chain_id=chain_id).order_by("number").values_list("number", flat=True).first()
    )
    fork_number = fork if fork is not None else max(0, int(lowest or 0) - 1)  # deeper than our window
    first_dropped = Block.objects.filter(chain_id=chain_id, number__gt=fork_number).order_by("number").first()
    replacement = c.get_block(fork_number + 1) or c.get_block("latest")
    assert first_dropped is not None and replacement is not None
    with transaction.atomic():
        affected = rewind_after(chain_id=chain_id, block_number=fork_number)
        payload = {
            "chain_id": chain_id,
            "depth": tip.number - fork_number,
            "fork_block_number": fork_number,
            "old_hash": first_dropped.hash,
            "new_hash": _hex(replacement["hash"]),
            "affected_tx_hashes": affected,
        }
        emit(type="chain.reorg.detected", key=chain_id, payload=payload)
    logger.warning(
        "reorg: depth %s after block %s, %s of our transactions affected",
        payload["depth"],
        fork_number,
        len(affected),
    )
    # A reorg drops its transactions from chain and pool: re-send every unmined one now.
    rebroadcast_pending(older_than=0)
    resend_dropped_mints()
    return payload


def rewind_after(*, chain_id: int, block_number: int) -> list[str]:
    """Forget blocks after `block_number`: their transactions, mints, claims and logs re-open."""
    moved = lock_transactions(
        ChainTransaction.objects.filter(
            chain_id=chain_id,
            block_number__gt=block_number,
            status__in=[TxStatus.INCLUDED, TxStatus.CONFIRMED, TxStatus.FAILED],
        )
    )
    hashes = []
    for tx in moved:
        hashes.append(tx.tx_hash)
        if tx.mint_id is not None:
            Mint.objects.filter(pk=tx.mint_id, current_tx=tx).update(
                status=MintStatus.SUBMITTED, confirmed_at=None, failure_reason=""
            )
        if tx.claim_id is not None:
            Claim.objects.filter(pk=tx.claim_id).update(status=ClaimStatus.SUBMITTED)
    moved.update(
        status=TxStatus.SUBMITTED,
        block_number=None,
        block_hash="",
        gas_used=None,
        receipt_status=None,
        confirmations=0,
    )
    rollback_after(chain_id=chain_id, block_number=block_number)
    Block.objects.filter(chain_id=chain_id, number__gt=block_number).delete()
    return sorted(hashes)
