"""Payloads of the nft.mint.* events (contracts in realtime/schemas/); call inside transaction.atomic."""

from typing import Any

from nft.models import ChainTransaction, Mint
from realtime.events import Event
from realtime.outbox import emit, emit_prepared, prepare


def _base(mint: Mint) -> dict[str, Any]:
    return {
        "order_id": mint.order_id,
        "line_id": mint.line_id,
        "chain_id": mint.collection.chain_id,
        "contract_address": mint.collection.address,
        "token_id": str(int(mint.token_id)),
        "to_address": mint.to_address,
    }


def emit_mint_submitted(tx: ChainTransaction, *, mint: Mint | None = None) -> None:
    emit_prepared([prepare_mint_submitted(tx, mint=mint)])


def prepare_mint_submitted(tx: ChainTransaction, *, mint: Mint | None = None) -> tuple[Event, str]:
    """The `nft.mint.submitted` event of one transaction, built (not written) under the caller's
    span, so a batch written later with `emit_prepared()` keeps each purchase's trace."""
    if mint is None or mint.pk != tx.mint_id:
        mint = Mint.objects.select_related("collection").get(pk=int(tx.mint_id or 0))
    payload = _base(mint) | {"tx_hash": tx.tx_hash, "nonce": tx.nonce, "sender": tx.sender.address}
    return prepare(type="nft.mint.submitted", key=mint.order_id, payload=payload)


def prepare_mint_confirmed(mint: Mint, tx: ChainTransaction, confirmations: int) -> tuple[Event, str]:
    """The `nft.mint.confirmed` event of one mint, built (not written) under the caller's span, so a
    batch written later with `emit_prepared()` keeps each purchase's trace."""
    return prepare(
        type="nft.mint.confirmed",
        key=mint.order_id,
        payload=_base(mint)
        | {
            "tx_hash": tx.tx_hash,
            "block_number": tx.block_number,
            "block_hash": tx.block_hash,
            "confirmations": confirmations,
        },
    )


def emit_mint_failed(mint: Mint, *, reason: str, tx_hash: str | None) -> None:
    payload = _base(mint) | {"reason": reason[:1000] or "failed", "tx_hash": tx_hash}
    emit(type="nft.mint.failed", key=mint.order_id, payload=payload)
