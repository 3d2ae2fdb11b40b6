"""Minting the token of an order line: request (idempotent per line), then send through the manager."""

import logging
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from eth_utils import is_address, to_checksum_address

from config.faults import crash_point
from nft import contracts
from nft.errors import InvalidAddress, MintConflict, UnknownCollection
from nft.keys import signer_account
from nft.metadata import METADATA_FIELDS
from nft.models import ChainTransaction, Collection, Mint, MintStatus, TxKind, TxStatus
from nft.models.chain import UNMINED_STATUSES
from nft.services.fees import suggest_fees
from nft.services.locks import lock_mint, lock_sender
from nft.services.senders import allocate_nonce, ensure_sender
from nft.services.signing import sign_and_store
from nft.services.transactions import DROPPED, send_stored, send_transaction
from realtime.tracing import current_traceparent, stored_span

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
    same bytes instead of signing a new one. When the manager reports the transaction dropped (its
    nonce went to a transaction we did not sign), the mint is back to `requested`: sign afresh.
    """
    mint = Mint.objects.select_related("collection", "current_tx").get(pk=mint_id)
    with stored_span("nft send mint", mint.traceparent, attributes={"mintdrop.mint.id": mint_id}):
        return _send_mint(mint)


def _send_mint(mint: Mint) -> Mint:
    mint_id = mint.pk
    if mint.status in (MintStatus.CONFIRMED, MintStatus.FAILED):
        return mint
    if mint.current_tx is not None:
        if mint.current_tx.status in UNMINED_STATUSES:
            outcome = send_transaction(tx_id=mint.current_tx.pk)
            if outcome is not None and outcome.status == DROPPED:
                return send_mint(mint_id=mint_id)
        return mint
    signer = signer_account()
    sender = ensure_sender(address=signer.address)
    fees = suggest_fees()  # network reads before the database transaction
    data = contracts.mint_call(to=mint.to_address, line_id=mint.line_id, token_id=int(mint.token_id))
    with transaction.atomic():
        mint = lock_mint(mint_id)
        if mint.current_tx_id is not None or mint.status != MintStatus.REQUESTED:
            tx = None  # another worker got here first
        else:
            locked = lock_sender(sender.pk)
            tx = sign_and_store(
                sender=locked,
                nonce=allocate_nonce(locked),
                kind=TxKind.MINT,
                to_address=mint.collection.address,
                data=data,
                gas_limit=settings.NFT_MINT_GAS_LIMIT,
                fees=fees,
                mint=mint,
            )
            mint.current_tx = tx
            mint.status = MintStatus.SUBMITTED
            mint.save(update_fields=["current_tx", "status", "updated_at"])
    if tx is None:
        return send_mint(mint_id=mint_id) if mint.current_tx_id is not None else mint
    crash_point("nft.after_sign")
    outcome = send_stored(tx, mint=mint)
    if outcome is not None and outcome.status == DROPPED:
        return send_mint(mint_id=mint_id)
    return mint


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
