"""The fulfilment half of the saga: mint commands, mint outcomes, shipments.

Functions named `*_locked` run inside the caller's transaction with the order row locked; the
`apply_*` ones are the saga handlers' use cases (they run in the consumer's transaction).
"""

from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from commerce.models import LineStatus, Order, OrderLine
from commerce.payments.models import MintStatus, SagaLine
from commerce.payments.services.refunds import line_refund_key, request_refund
from commerce.payments.services.timeline import StepOutcome, lock_saga, record_step, sync_state
from commerce.payments.wallets import buyer_mint_address
from commerce.services.fulfilment import mark_line_minted
from commerce.services.locks import lock_order
from commerce.services.token_metadata import mint_metadata
from realtime.outbox import emit


def _saga_line(line: OrderLine) -> SagaLine:
    saga_line, _ = SagaLine.objects.get_or_create(line=line, defaults={"order_id": line.order_id})
    return saga_line


def fail_line_locked(order: Order, line: OrderLine, *, reason: str, detail: str = "") -> None:
    """A paid line cannot be delivered: mark it failed in the saga and refund it (once per line)."""
    saga_line = _saga_line(line)
    saga_line.mint_status = MintStatus.FAILED if line.mints_nft else saga_line.mint_status
    saga_line.failed_reason = (detail or reason)[:1000]
    saga_line.save()
    request_refund(order=order, line=line, amount=line.amount, key=line_refund_key(line.pk), reason=reason)


def request_mint_locked(
    order: Order, line: OrderLine, *, to_address: str | None, retry: bool = False
) -> bool:
    """Emit nft.mint.requested for one paid NFT line; False (and the line failed) when it cannot be minted."""
    if not (line.token_id and line.nft_chain_id and line.nft_contract_address and to_address):
        missing = "buyer wallet" if not to_address else "collection or token id"
        record_step(
            order_id=order.pk,
            step="nft.mint.requested",
            outcome=StepOutcome.FAILED,
            line_id=line.pk,
            missing=missing,
        )
        fail_line_locked(order, line, reason="mint_impossible", detail=f"no {missing}")
        return False
    emit(
        type="nft.mint.requested",
        key=order.pk,
        payload={
            "order_id": order.pk,
            "line_id": line.pk,
            "chain_id": line.nft_chain_id,
            "contract_address": line.nft_contract_address,
            "token_id": line.token_id,
            "to_address": to_address,
            **mint_metadata(line),
        },
    )
    saga_line = _saga_line(line)
    saga_line.mint_status = MintStatus.REQUESTED
    saga_line.mint_requested_at = timezone.now()
    saga_line.mint_request_count += 1
    saga_line.save()
    record_step(
        order_id=order.pk,
        step="nft.mint.requested",
        outcome=StepOutcome.REQUESTED,
        line_id=line.pk,
        token_id=line.token_id,
        to_address=to_address,
        retry=retry,
    )
    return True


def start_lines_locked(order: Order) -> None:
    """After payment: one mint command per paid NFT line; note the shipments commerce requested."""
    lines = list(order.lines.filter(status=LineStatus.PAID))
    address = buyer_mint_address(order.buyer_id) if any(line.mints_nft for line in lines) else None
    for line in lines:
        if line.ships:
            saga_line = _saga_line(line)
            saga_line.shipment_requested = True
            saga_line.save()
            record_step(
                order_id=order.pk, step="shipment.requested", outcome=StepOutcome.REQUESTED, line_id=line.pk
            )
        if line.mints_nft:
            request_mint_locked(order, line, to_address=address)


def apply_mint_confirmed(
    *, event_id: UUID, order_id: int, line_id: int, tx_hash: str, block_number: int
) -> None:
    """nft.mint.confirmed: the line's NFT is delivered; the last delivered line fulfils the order."""
    with transaction.atomic():
        order = lock_order(order_id)
        saga = lock_saga(order_id)
        line = order.lines.get(pk=line_id)
        saga_line = _saga_line(line)
        saga_line.mint_status = MintStatus.CONFIRMED
        saga_line.tx_hash = tx_hash[:66]
        saga_line.save()
        detail: dict[str, Any] = {"tx_hash": saga_line.tx_hash, "block_number": block_number}
        if line.status == LineStatus.PAID and line.nft_confirmed_at is None:
            mark_line_minted(line_id=line_id)
            outcome = StepOutcome.APPLIED
        else:
            # Already fulfilled (duplicate), or refunded before the chain answered: nothing to move.
            outcome, detail["line_status"] = StepOutcome.IGNORED, line.status
        record_step(
            order_id=order_id,
            step="nft.mint.confirmed",
            outcome=outcome,
            event_id=event_id,
            line_id=line_id,
            **detail,
        )
        order.refresh_from_db()
        sync_state(saga, order)


def apply_mint_failed(
    *, event_id: UUID, order_id: int, line_id: int, reason: str, tx_hash: str | None = None
) -> None:
    """nft.mint.failed (for good): refund that line through Stripe, once, and tell the buyer."""
    reason = reason or "mint failed"
    with transaction.atomic():
        order = lock_order(order_id)
        saga = lock_saga(order_id)
        line = order.lines.get(pk=line_id)
        if line.status != LineStatus.PAID:
            record_step(
                order_id=order_id,
                step="nft.mint.failed",
                outcome=StepOutcome.IGNORED,
                event_id=event_id,
                line_id=line_id,
                line_status=line.status,
                reason=reason,
            )
            return
        fail_line_locked(order, line, reason="mint_failed", detail=reason)
        record_step(
            order_id=order_id,
            step="nft.mint.failed",
            outcome=StepOutcome.APPLIED,
            event_id=event_id,
            line_id=line_id,
            reason=reason,
            tx_hash=tx_hash,
        )
        sync_state(saga, order, state="refunding")


def rerequest_mint(*, line_id: int) -> bool:
    """Admin / reconciler: ask again for the mint of a paid NFT line (the nft handler is idempotent per line)."""
    line = OrderLine.objects.filter(pk=line_id).only("order_id").first()
    if line is None:
        return False
    with transaction.atomic():
        order = lock_order(line.order_id)
        line = order.lines.get(pk=line_id)
        if line.status != LineStatus.PAID or not line.mints_nft:
            return False
        return request_mint_locked(order, line, to_address=buyer_mint_address(order.buyer_id), retry=True)
