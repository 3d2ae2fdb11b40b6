"""Signing: turn a transaction into stored raw bytes (the leaf of the transaction manager).

Imports run one way: signing <- senders <- transactions <- mints; this module imports no other
service of nft, so nonce healing (senders) and the manager (transactions) can both use it.
"""

from django.conf import settings

from nft.eip1559 import sign_eip1559
from nft.keys import account_for
from nft.models import ChainTransaction, Mint, SenderAccount
from nft.services.fees import Fees
from realtime.tracing import current_traceparent


def sign_and_store(
    *,
    sender: SenderAccount,
    nonce: int,
    kind: str,
    to_address: str,
    data: bytes,
    gas_limit: int,
    fees: Fees,
    value: int = 0,
    mint: Mint | None = None,
    claim_id: int | None = None,
    replaces: ChainTransaction | None = None,
) -> ChainTransaction:
    """Sign an EIP-1559 transaction and store its raw bytes; must run in the caller's transaction."""
    tx = sign(
        sender=sender,
        nonce=nonce,
        kind=kind,
        to_address=to_address,
        data=data,
        gas_limit=gas_limit,
        fees=fees,
        value=value,
        mint=mint,
        claim_id=claim_id,
        replaces=replaces,
    )
    tx.save(force_insert=True)
    return tx


def sign(
    *,
    sender: SenderAccount,
    nonce: int,
    kind: str,
    to_address: str,
    data: bytes,
    gas_limit: int,
    fees: Fees,
    value: int = 0,
    mint: Mint | None = None,
    claim_id: int | None = None,
    replaces: ChainTransaction | None = None,
) -> ChainTransaction:
    """Sign an EIP-1559 transaction into an unsaved row (to be stored in bulk, in the same transaction)."""
    signed = sign_eip1559(
        private_key=bytes(account_for(sender.address, custody_index=sender.custody_index).key),
        chain_id=int(settings.CHAIN_ID),
        nonce=nonce,
        max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
        max_fee_per_gas=fees.max_fee_per_gas,
        gas=gas_limit,
        to=to_address,
        value=value,
        data=data,
    )
    return ChainTransaction(
        chain_id=settings.CHAIN_ID,
        sender=sender,
        nonce=nonce,
        kind=kind,
        to_address=to_address,
        value=value,
        data=data,
        gas_limit=gas_limit,
        max_fee_per_gas=fees.max_fee_per_gas,
        max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
        raw_tx=bytes(signed.raw_transaction),
        tx_hash="0x" + bytes(signed.hash).hex(),
        mint=mint,
        claim_id=claim_id,
        replaces=replaces,
        # a replacement carries on the trace of the transaction it replaces
        traceparent=current_traceparent() or (replaces.traceparent if replaces is not None else ""),
    )
