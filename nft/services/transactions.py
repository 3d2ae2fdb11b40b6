"""The transaction manager: sign and store before sending, send, rebroadcast, replace when stuck.

The order that makes a crash harmless: allocate the nonce, sign, and store the raw bytes in ONE
database transaction; commit; only then send. A worker that dies after the commit leaves a
`signed` row whose exact bytes the next attempt (or `rebroadcast_pending`) sends again: the node
answers "already known" or "nonce too low", never mints twice.

Imports run one way: signing <- senders <- transactions <- mints. When a transaction can never be
mined (its nonce went to a transaction we did not sign) the manager marks it dropped, heals the
nonce counter and reports `DROPPED` to its caller; re-sending the work it carried (a fresh mint)
is the caller's job (`nft.services.mints`).
"""

import logging
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from opentelemetry.trace import SpanKind

from config.faults import crash_point
from monitoring.metrics import count_tx_replaced
from nft.chain import SendOutcome, client
from nft.errors import FeeCapExceeded
from nft.models import ChainTransaction, Mint, MintStatus, TxStatus
from nft.models.chain import UNMINED_STATUSES
from nft.services.fees import Fees, replacement_fees, suggest_fees
from nft.services.locks import lock_transaction, lock_transactions
from nft.services.mint_events import emit_mint_submitted, prepare_mint_submitted
from nft.services.senders import heal_nonces
from nft.services.signing import sign_and_store
from realtime.outbox import emit_prepared
from realtime.tracing import span, stored_span

logger = logging.getLogger(__name__)

# The SendOutcome status the manager itself reports: this transaction will never be mined.
DROPPED = "dropped"


def send_transaction(*, tx_id: int) -> SendOutcome | None:
    """Send the stored bytes of one transaction and record what the node said.

    Idempotent: sending again returns "already known"/"nonce too low", which count as sent.
    Returns None when the transaction is no longer waiting to be sent, and an outcome with status
    `DROPPED` when its nonce went elsewhere (the caller re-sends the work it carried).
    """
    return send_stored(ChainTransaction.objects.select_related("sender").get(pk=tx_id))


def send_stored(tx: ChainTransaction, *, mint: Mint | None = None) -> SendOutcome | None:
    """`send_transaction` for a row already in hand (`mint`, if given, is the one it mints)."""
    if tx.status not in UNMINED_STATUSES:
        return None
    with stored_span(
        "chain eth_sendRawTransaction",
        tx.traceparent,
        kind=SpanKind.CLIENT,
        attributes={
            "mintdrop.tx.hash": tx.tx_hash,
            "mintdrop.tx.nonce": tx.nonce,
            "mintdrop.tx.kind": tx.kind,
        },
    ) as span:
        outcome = client().send_raw(bytes(tx.raw_tx))
        if span is not None:
            span.set_attribute("mintdrop.tx.send_status", outcome.status)
    crash_point("nft.after_send")
    if outcome.status == "nonce_too_low":
        return _after_nonce_too_low(tx, outcome)
    else:
        _record_send(tx, outcome, mint=mint)
    return outcome


def send_stored_many(txs: list[ChainTransaction], *, mints: dict[int, Mint]) -> list[SendOutcome | None]:
    """`send_stored` for several stored transactions: one JSON-RPC batch, one recording transaction.

    `txs` in nonce order (one lane's fresh batch); `mints` by id, the mints they carry (locked
    earlier with their collection, for the events). Outcomes in the order of `txs`, as for
    `send_stored` (None: no longer waiting; status DROPPED: the caller re-sends the mint).
    """
    results: list[SendOutcome | None] = [None] * len(txs)
    pending = [i for i, tx in enumerate(txs) if tx.status in UNMINED_STATUSES]
    if not pending:
        return results
    first = txs[pending[0]]
    with stored_span(
        "chain eth_sendRawTransaction",
        first.traceparent,
        kind=SpanKind.CLIENT,
        attributes={"mintdrop.tx.hash": first.tx_hash, "mintdrop.tx.batch": len(pending)},
    ):
        outcomes = client().send_raw_many([bytes(txs[i].raw_tx) for i in pending])
    crash_point("nft.after_send")
    accepted = [txs[i] for i, o in zip(pending, outcomes, strict=True) if o.in_pool_or_chain]
    _record_sent_many(accepted, mints=mints)
    for i, outcome in zip(pending, outcomes, strict=True):
        results[i] = outcome
        if outcome.status == "nonce_too_low":
            results[i] = _after_nonce_too_low(txs[i], outcome)
        elif not outcome.in_pool_or_chain:
            _record_send(txs[i], outcome)
    return results


def _record_sent_many(txs: list[ChainTransaction], *, mints: dict[int, Mint]) -> None:
    """Record that the node holds `txs`: signed -> submitted once each, with their events."""
    if not txs:
        return
    now = timezone.now()
    ids = [tx.pk for tx in txs]
    counters = {"send_attempts": F("send_attempts") + 1, "last_sent_at": now, "updated_at": now}
    with transaction.atomic():
        fresh = set(
            lock_transactions(ChainTransaction.objects.filter(pk__in=ids, status=TxStatus.SIGNED))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if fresh:
            ChainTransaction.objects.filter(pk__in=fresh).update(
                status=TxStatus.SUBMITTED, last_error="", **counters
            )
        if len(fresh) < len(ids):
            ChainTransaction.objects.filter(pk__in=ids).exclude(pk__in=fresh).update(
                last_error="", **counters
            )
        events = []
        for tx in txs:
            if tx.pk in fresh and tx.mint_id is not None:
                # Each event under its own purchase's trace (the one its transaction was signed in),
                # not under the span of the batch's send.
                within = (
                    span(
                        "nft mint submitted",
                        parent=tx.traceparent,
                        attributes={"mintdrop.tx.hash": tx.tx_hash},
                    )
                    if tx.traceparent
                    else nullcontext()
                )
                with within:
                    events.append(prepare_mint_submitted(tx, mint=mints.get(tx.mint_id)))
        emit_prepared(events)


def _record_send(tx: ChainTransaction, outcome: SendOutcome, *, mint: Mint | None = None) -> None:
    now = timezone.now()
    row = ChainTransaction.objects.filter(pk=tx.pk)
    counters = {"send_attempts": F("send_attempts") + 1, "last_sent_at": now, "updated_at": now}
    with transaction.atomic():
        if outcome.in_pool_or_chain:
            # signed -> submitted exactly once (a conditional UPDATE), and announce it then.
            if row.filter(status=TxStatus.SIGNED).update(
                status=TxStatus.SUBMITTED, last_error="", **counters
            ):
                if tx.mint_id is not None:
                    emit_mint_submitted(tx, mint=mint)
            else:
                row.update(last_error="", **counters)
        else:
            # Underpriced, unfunded, a nonce gap, or a node hiccup: keep the bytes; the beat jobs
            # re-send, bump fees, or fill the gap.
            error = f"{outcome.status}: {outcome.message}"[:500]
            row.update(last_error=error, **counters)
            logger.warning("send of %s refused: %s", tx.tx_hash, error)


def _after_nonce_too_low(tx: ChainTransaction, outcome: SendOutcome) -> SendOutcome:
    """The chain has used this nonce: by this very transaction, a replacement, or someone else."""
    siblings = list(
        ChainTransaction.objects.filter(sender=tx.sender, nonce=tx.nonce).values_list("tx_hash", flat=True)
    )
    if any(client().get_receipt(h) is not None for h in siblings):
        # Ours is on chain (this one or a same-nonce sibling): the confirmer takes it from here.
        known = SendOutcome("known", outcome.message)
        _record_send(tx, known)
        return known
    # The nonce went to a transaction we never signed (the key was used elsewhere, or our
    # counter was behind): this one can never be mined. Free the work for a fresh nonce.
    with transaction.atomic():
        locked = lock_transaction(tx.pk)
        if locked.status not in UNMINED_STATUSES:
            return outcome  # someone else settled it meanwhile
        locked.status = TxStatus.DROPPED
        locked.last_error = "nonce used by a transaction we did not sign"
        locked.save(update_fields=["status", "last_error", "updated_at"])
        if locked.mint_id is not None:
            Mint.objects.filter(pk=locked.mint_id, current_tx=locked).update(
                current_tx=None, status=MintStatus.REQUESTED
            )
    logger.warning("tx %s dropped: nonce %s used elsewhere", tx.tx_hash, tx.nonce)
    heal_nonces(sender_id=tx.sender_id)
    return SendOutcome(DROPPED, outcome.message)


def rebroadcast_pending(*, older_than: float | None = None, sender_id: int | None = None) -> int:
    """Re-send stored transactions not yet seen in a block (crash recovery, dropped by a node).

    `signed` rows are re-sent at once (their sender may have died before sending); `submitted`
    ones once they are `older_than` seconds old (0: all of them, as after a reorg). Sent in nonce
    order per sender; the mints of transactions found dropped on the way are re-sent by the
    caller (`nft.services.mints.resend_dropped_mints`). `sender_id`: one lane of the signer pool only.
    """
    age = settings.NFT_REBROADCAST_AFTER_SECONDS if older_than is None else older_than
    cutoff = timezone.now() - timedelta(seconds=age)
    pending = ChainTransaction.objects.filter(chain_id=settings.CHAIN_ID).filter(
        Q(status=TxStatus.SIGNED)
        # A submitted row never sent by us (mined after a crash, then un-mined by a reorg) has
        # no send time: it is older than any cutoff.
        | Q(status=TxStatus.SUBMITTED, last_sent_at__lt=cutoff)
        | Q(status=TxStatus.SUBMITTED, last_sent_at__isnull=True)
    )
    if sender_id is not None:
        pending = pending.filter(sender_id=sender_id)
    count = 0
    for tx_id in pending.order_by("sender_id", "nonce").values_list("pk", flat=True):
        if send_transaction(tx_id=tx_id) is not None:
            count += 1
    return count


def replace_transaction(*, tx_id: int, fees: Fees) -> ChainTransaction | None:
    """Sign a same-nonce replacement of `tx_id` with `fees` and store it (old one -> replaced)."""
    with transaction.atomic():
        old = lock_transaction(tx_id, with_sender=True)
        if old.status not in UNMINED_STATUSES:
            return None
        old.status = TxStatus.REPLACED  # first, so the one-live-per-nonce constraint holds
        old.save(update_fields=["status", "updated_at"])
        new = sign_and_store(
            sender=old.sender,
            nonce=old.nonce,
            kind=old.kind,
            to_address=old.to_address,
            data=bytes(old.data),
            value=int(old.value),
            gas_limit=old.gas_limit,
            fees=fees,
            mint=old.mint,
            claim_id=old.claim_id,
            replaces=old,
        )
        if old.mint_id is not None:
            Mint.objects.filter(pk=old.mint_id).update(current_tx=new)
    count_tx_replaced(old.kind)
    logger.info("replacing %s (nonce %s) by %s", old.tx_hash, old.nonce, new.tx_hash)
    return new


def bump_fees(*, tx_id: int, suggested: Fees | None = None) -> ChainTransaction | None:
    """Replace an unmined transaction by a same-nonce one paying today's fees (>= 12.5 % more), and send it.

    Returns the replacement, or None when the transaction is no longer unmined. Raises
    FeeCapExceeded when the bump would pass NFT_MAX_FEE_PER_GAS_WEI.
    """
    tx = ChainTransaction.objects.get(pk=tx_id)
    old = Fees(tx.max_fee_per_gas, tx.max_priority_fee_per_gas)
    fees = replacement_fees(old=old, suggested=suggested if suggested is not None else suggest_fees())
    new = replace_transaction(tx_id=tx_id, fees=fees)
    if new is not None:
        send_transaction(tx_id=new.pk)
    return new


def replace_stuck(*, older_than: float | None = None, sender_id: int | None = None) -> list[ChainTransaction]:
    """Replace transactions that waited `older_than` seconds with fees below today's, bumping >= 12.5 %.

    `sender_id`: one lane of the signer pool only (each lane is stuck or not on its own).

    Only the lowest unmined nonce of a sender can be stuck on fees; the ones behind it wait.
    A transaction whose fees are still fine is re-sent as it is instead.
    """
    age = settings.NFT_STUCK_AFTER_SECONDS if older_than is None else older_than
    cutoff = timezone.now() - timedelta(seconds=age)
    stuck = (
        ChainTransaction.objects.filter(chain_id=settings.CHAIN_ID, status__in=UNMINED_STATUSES)
        .filter(Q(last_sent_at__lt=cutoff) | Q(last_sent_at__isnull=True, created_at__lt=cutoff))
        .select_related("sender")
        .order_by("sender_id", "nonce")
    )
    if sender_id is not None:
        stuck = stuck.filter(sender_id=sender_id)
    suggested = suggest_fees()
    replaced: list[ChainTransaction] = []
    for tx in stuck:
        if client().get_receipt(tx.tx_hash) is not None:
            continue  # mined; the confirmer will record it
        if tx.nonce < client().nonce(tx.sender.address, "latest"):
            continue  # its nonce is used; the confirmer or nonce healing sorts out which tx
        old = Fees(tx.max_fee_per_gas, tx.max_priority_fee_per_gas)
        if (
            old.max_fee_per_gas >= suggested.max_fee_per_gas
            and old.max_priority_fee_per_gas >= suggested.max_priority_fee_per_gas
        ):
            send_transaction(tx_id=tx.pk)
            continue
        try:
            new = bump_fees(tx_id=tx.pk, suggested=suggested)
        except FeeCapExceeded:
            logger.warning("cannot replace %s: fee cap reached", tx.tx_hash)
            continue
        if new is not None:
            replaced.append(new)
    return replaced
