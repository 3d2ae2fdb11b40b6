"""Minting the token of an order line: request (idempotent per line), then send through the manager."""

import logging
from contextlib import nullcontext
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Mod
from django.utils import timezone
from eth_utils import is_address, to_checksum_address

from config.faults import crash_point
from nft import contracts
from nft.errors import InvalidAddress, MintConflict, UnknownCollection
from nft.metadata import METADATA_FIELDS
from nft.models import ChainTransaction, Collection, Mint, MintStatus, SenderAccount, TxKind, TxStatus
from nft.services.fees import Fees, suggest_fees
from nft.services.locks import clear_in_flight, lock_mint, lock_sender, mark_in_flight, wait_in_flight
from nft.services.senders import ensure_sender
from nft.services.signer_pool import lane_order, minting_lanes
from nft.services.signing import sign
from nft.services.transactions import DROPPED, send_stored_many, send_transaction
from realtime.tracing import current_traceparent, span, stored_span

logger = logging.getLogger(__name__)


def check_address(value: str) -> str:
    """An EIP-55 checksummed address, or InvalidAddress."""
    if not isinstance(value, str) or not is_address(value):
        raise InvalidAddress(f"not an Ethereum address: {value!r}")
    return to_checksum_address(value)


def get_collection(*, chain_id: int, address: str) -> Collection:
    try:
        return Collection.objects.get(chain_id=chain_id, address=check_address(address))
    except Collection.DoesNotExist:
        raise UnknownCollection(
            f"no collection {address} on chain {chain_id}", details={"chain_id": chain_id, "address": address}
        ) from None


def request_mint(
    *,
    order_id: int,
    line_id: int,
    collection: Collection,
    to_address: str,
    token_id: int,
    metadata: dict[str, Any] | None = None,
    metadata_uri: str = "",
) -> Mint:
    """Record the mint of one order line; a second request for the same line returns the first.

    Raises MintConflict when the line already has a mint of another collection or token id.
    """
    to_address = check_address(to_address)
    fields = {k: v for k, v in (metadata or {}).items() if k in METADATA_FIELDS and v is not None}
    existing = Mint.objects.filter(line_id=line_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                return Mint.objects.create(
                    order_id=order_id,
                    line_id=line_id,
                    collection=collection,
                    token_id=Decimal(token_id),
                    to_address=to_address,
                    metadata=fields,
                    metadata_uri=metadata_uri,
                    traceparent=current_traceparent(),
                )
        except IntegrityError:
            existing = Mint.objects.filter(line_id=line_id).first()
            if existing is None:  # the token id is taken by another line
                raise MintConflict(
                    f"token {token_id} of {collection.address} belongs to another line",
                    details={"line_id": line_id, "token_id": str(token_id)},
                ) from None
    if existing.collection_id != collection.pk or int(existing.token_id) != int(token_id):
        raise MintConflict(
            f"line {line_id} already mints token {existing.token_id} of collection {existing.collection_id}",
            details={"line_id": line_id},
        )
    return existing


def send_mint(*, mint_id: int) -> Mint:
    """Allocate a nonce, sign, store, commit, then send the mint transaction (Celery task body).

    Safe to run again at any point: a mint that already has a stored transaction re-sends those
    same bytes instead of signing a new one (at once when never sent, otherwise only once the
    last send is NFT_REBROADCAST_AFTER_SECONDS old). When the manager reports the transaction
    dropped (its nonce went to a transaction we did not sign), the mint is back to `requested`:
    sign afresh. Other mints of the same collection waiting to be sent go along in the same batch
    (see `_sign_batch`), so a backlog costs one lane lock, one commit and one JSON-RPC request per
    batch rather than per mint.
    """
    mint = Mint.objects.select_related("collection", "current_tx").get(pk=mint_id)
    with stored_span("nft send mint", mint.traceparent, attributes={"mintdrop.mint.id": mint_id}):
        return _send_mint(mint)


def _send_mint(mint: Mint) -> Mint:
    mint_id = mint.pk
    if mint.status in (MintStatus.CONFIRMED, MintStatus.FAILED):
        return mint
    if mint.current_tx is not None:
        if mint.current_tx.status == TxStatus.SIGNED and wait_in_flight(mint.current_tx.pk):
            # Signed in another worker's batch: it has now sent it and recorded the answer (or died).
            mint.current_tx.refresh_from_db()
        if _needs_resend(mint.current_tx):
            outcome = send_transaction(tx_id=mint.current_tx.pk)
            if outcome is not None and outcome.status == DROPPED:
                return send_mint(mint_id=mint_id)
        return mint
    lanes = minting_lanes(collection=mint.collection)
    senders = _lane_senders(lanes)
    fees = suggest_fees()  # network reads before the database transaction
    batch = _sign_batch(mint_id, lanes=[senders[a] for a in lanes], fees=fees)
    if batch is None:  # another worker got here first
        current = Mint.objects.filter(pk=mint_id).values_list("current_tx_id", flat=True).first()
        return send_mint(mint_id=mint_id) if current is not None else mint
    mints, txs = batch
    try:
        crash_point("nft.after_sign")
        outcomes = send_stored_many(txs, mints={m.pk: m for m in mints})
    finally:
        clear_in_flight([tx.pk for tx in txs])
    for sent, outcome in zip(mints, outcomes, strict=True):
        if outcome is not None and outcome.status == DROPPED:
            send_mint(mint_id=sent.pk)
    return mints[0]


def _needs_resend(tx: ChainTransaction) -> bool:
    """A stored transaction is sent again when it may never have reached the node, or long ago."""
    if tx.status == TxStatus.SIGNED:
        return True
    if tx.status != TxStatus.SUBMITTED:
        return False
    cutoff = timezone.now() - timedelta(seconds=settings.NFT_REBROADCAST_AFTER_SECONDS)
    return tx.last_sent_at is None or tx.last_sent_at < cutoff


def _lane_senders(lanes: list[str]) -> dict[str, int]:
    """SenderAccount ids of the lanes (created with the chain's nonce the first time: network)."""
    ids = dict(
        SenderAccount.objects.filter(chain_id=settings.CHAIN_ID, address__in=lanes).values_list(
            "address", "pk"
        )
    )
    for address in lanes:
        if address not in ids:
            ids[address] = ensure_sender(address=address).pk
    return ids


def _take_lane(lanes: list[int], *, mint_id: int) -> SenderAccount:
    """Lock the mint's own lane if free, else the next lane no other worker holds; else wait for its own."""
    order = lane_order(lanes, mint_id=mint_id)
    for sender_id in order if len(order) > 1 else []:
        free = (
            SenderAccount.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(pk=sender_id)
            .first()
        )
        if free is not None:
            return free
    return lock_sender(order[0])


def _sign_batch(
    mint_id: int, *, lanes: list[int], fees: Fees
) -> tuple[list[Mint], list[ChainTransaction]] | None:
    """Sign and store the mint `mint_id` and up to NFT_SEND_BATCH_SIZE - 1 other waiting mints of its
    collection on one lane, with consecutive nonces, in one database transaction.

    `lanes`: the sender ids of the collection's minting lanes. None when `mint_id` was signed by
    someone else meanwhile. The other mints taken are those whose own lane (id modulo the number
    of lanes) is the lane taken, so workers on other lanes keep their mints; they are taken with
    SKIP LOCKED, so no worker ever waits on another's batch (locks: the mint, its lane, then others).
    """
    with transaction.atomic():
        mint = lock_mint(mint_id)
        if mint.current_tx_id is not None or mint.status != MintStatus.REQUESTED:
            return None
        sender = _take_lane(lanes, mint_id=mint_id)
        mints = [mint]
        room = int(settings.NFT_SEND_BATCH_SIZE) - 1
        if room > 0:
            waiting = (
                Mint.objects.select_for_update(skip_locked=True, no_key=True)
                .filter(
                    collection_id=mint.collection_id, status=MintStatus.REQUESTED, current_tx__isnull=True
                )
                .exclude(pk=mint_id)
            )
            if len(lanes) > 1:
                waiting = waiting.alias(lane=Mod("pk", len(lanes))).filter(lane=lanes.index(sender.pk))
            # Newest first: the tasks queued ahead of these (older mints) still find their own mint
            # waiting and take the lane as soon as it is free, so the lane is never idle while a
            # worker wades through tasks whose mint a batch already sent; a mint is never later
            # than its own task would have made it.
            mints += list(waiting.order_by("-pk")[:room])
            for m in mints[1:]:
                m.collection = mint.collection  # the same row: no join per batch-mate
        first = sender.next_nonce
        sender.next_nonce = first + len(mints)
        sender.save(update_fields=["next_nonce", "updated_at"])
        txs = [
            _sign_mint(m, sender=sender, nonce=first + i, fees=fees, leader=mint_id)
            for i, m in enumerate(mints)
        ]
        ChainTransaction.objects.bulk_create(txs)
        mark_in_flight([tx.pk for tx in txs])  # outlives this transaction: released after the send
        now = timezone.now()
        # One UPDATE for the batch (bulk_update would build a CASE per row and field).
        Mint.objects.filter(pk__in=[m.pk for m in mints]).update(
            current_tx=Subquery(
                ChainTransaction.objects.filter(mint_id=OuterRef("pk"), pk__in=[tx.pk for tx in txs]).values(
                    "pk"
                )[:1]
            ),
            status=MintStatus.SUBMITTED,
            updated_at=now,
        )
        for m, tx in zip(mints, txs, strict=True):
            m.current_tx, m.status, m.updated_at = tx, MintStatus.SUBMITTED, now
    return mints, txs


def _sign_mint(mint: Mint, *, sender: SenderAccount, nonce: int, fees: Fees, leader: int) -> ChainTransaction:
    """Sign one mint's transaction of a batch (unsaved).

    A batch-mate is signed under a span continuing its own purchase's trace (stored on the mint),
    so its transaction carries that trace into the send, the confirmer and their events, rather
    than the trace of the mint whose task led the batch.
    """
    within = (
        span(
            "nft send mint",
            parent=mint.traceparent,
            attributes={"mintdrop.mint.id": mint.pk, "mintdrop.mint.batch_leader": leader},
        )
        if mint.pk != leader and mint.traceparent
        else nullcontext()
    )
    with within:
        return sign(
            sender=sender,
            nonce=nonce,
            kind=TxKind.MINT,
            to_address=mint.collection.address,
            data=contracts.mint_call(to=mint.to_address, line_id=mint.line_id, token_id=int(mint.token_id)),
            gas_limit=settings.NFT_MINT_GAS_LIMIT,
            fees=fees,
            mint=mint,
        )


def resend_dropped_mints() -> list[int]:
    """Sign afresh every mint whose transaction the manager dropped; return their ids.

    Callers of the manager's batch jobs (`rebroadcast_pending`, `replace_stuck`, the confirmer's
    reorg path) run this after them: the manager only reports a drop, the mint layer re-sends.
    """
    dropped = ChainTransaction.objects.filter(status=TxStatus.DROPPED, mint__isnull=False).values("mint_id")
    ids = list(
        Mint.objects.filter(status=MintStatus.REQUESTED, current_tx__isnull=True, pk__in=dropped)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for mint_id in ids:
        send_mint(mint_id=mint_id)
    return ids
