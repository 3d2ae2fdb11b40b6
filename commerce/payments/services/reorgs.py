"""The saga's answer to `chain.reorg.detected`: lines whose confirmed mint was rolled back re-open.

A reorg rewinds the nft side (the mint goes back to `submitted`, its same raw transaction is sent
again) and announces the transaction hashes it took off the chain. Here, each delivered line whose
confirming transaction is among them goes back to minting and its order re-opens. When the
transaction is confirmed again, `nft.mint.confirmed` fulfils the line as the first time did.

The reorg event and the second confirmation travel on different keys, so either may arrive first.
Deciding under the order lock on the nft side's current state keeps the outcome right: a mint that
is already confirmed again has its confirmation queued or applied, and nothing re-opens.
"""

from uuid import UUID

from django.db import transaction

from commerce.payments.models import MintStatus, SagaLine
from commerce.payments.services.timeline import StepOutcome, lock_saga, record_step, sync_state
from commerce.services.locks import lock_order
from commerce.services.reopen import reopen_lines_locked


def _confirmed_now(line_id: int) -> bool:
    from nft.models import Mint
    from nft.models import MintStatus as ChainMintStatus

    return Mint.objects.filter(line_id=line_id, status=ChainMintStatus.CONFIRMED).exists()


def apply_reorg_detected(
    *, event_id: UUID, affected_tx_hashes: list[str], fork_block_number: int, depth: int
) -> list[int]:
    """chain.reorg.detected: re-open the lines (and orders) whose confirmed mint the reorg removed."""
    hashes = [h.lower() for h in affected_tx_hashes]
    if not hashes:
        return []
    hit = SagaLine.objects.filter(tx_hash__in=hashes, mint_status=MintStatus.CONFIRMED)
    by_order: dict[int, list[int]] = {}
    for order_id, line_id in hit.order_by("order_id", "line_id").values_list("order_id", "line_id"):
        by_order.setdefault(order_id, []).append(line_id)
    reopened: list[int] = []
    for order_id, line_ids in by_order.items():
        with transaction.atomic():
            order = lock_order(order_id)
            saga = lock_saga(order_id)
            lines = [line_id for line_id in line_ids if not _confirmed_now(line_id)]
            reason = f"reorg at block {fork_block_number} removed the mint of line(s) " + (
                ", ".join(str(i) for i in lines)
            )
            moved = reopen_lines_locked(order, line_ids=lines, reason=reason) if lines else []
            SagaLine.objects.filter(line_id__in=moved).update(mint_status=MintStatus.REQUESTED)
            for line_id in line_ids:
                record_step(
                    order_id=order_id,
                    step="chain.reorg.detected",
                    outcome=StepOutcome.APPLIED if line_id in moved else StepOutcome.IGNORED,
                    event_id=event_id,
                    line_id=line_id,
                    fork_block_number=fork_block_number,
                    depth=depth,
                )
            if moved:
                order.refresh_from_db()
                sync_state(saga, order)
            reopened += moved
    return reopened
