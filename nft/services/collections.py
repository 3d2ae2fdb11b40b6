"""Deploying a MintdropCollection through the transaction manager (its nonce, its records)."""

import time
from typing import Any

from django.conf import settings
from django.db import transaction

from nft import contracts
from nft.chain import client
from nft.errors import ChainRejected
from nft.keys import signer_account
from nft.models import ChainTransaction, Collection, TxKind
from nft.services.fees import suggest_fees
from nft.services.locks import lock_sender
from nft.services.mints import check_address
from nft.services.senders import allocate_nonce, ensure_sender
from nft.services.signing import sign_and_store
from nft.services.transactions import send_transaction


def metadata_base_uri(chain_id: int, address: str) -> str:
    """Token URI prefix served by our metadata endpoint (token URI = prefix + token id)."""
    return f"{settings.NFT_METADATA_BASE_URL.rstrip('/')}/{chain_id}/{address}/"


def deploy_collection(
    *,
    name: str,
    symbol: str,
    royalty_receiver: str,
    royalty_bps: int,
    base_uri: str | None = None,
    timeout: float = 60.0,
) -> Collection:
    """Deploy a collection signed by the minter (admin + MINTER_ROLE), wait for it, record it.

    The contract address follows from the signer's nonce, so the base URI can name it before
    the deployment transaction is even sent.
    """
    if not 0 <= royalty_bps <= 10_000:
        raise ChainRejected("royalty_bps must be between 0 and 10000")
    royalty_receiver = check_address(royalty_receiver)
    signer = signer_account()
    sender = ensure_sender(address=signer.address)
    fees = suggest_fees()
    with transaction.atomic():
        locked = lock_sender(sender.pk)
        nonce = allocate_nonce(locked)
        address = contracts.create_address(signer.address, nonce)
        uri = base_uri if base_uri is not None else metadata_base_uri(settings.CHAIN_ID, address)
        data = contracts.deploy_data(
            name=name,
            symbol=symbol,
            base_uri=uri,
            admin=signer.address,
            minter=signer.address,
            royalty_receiver=royalty_receiver,
            royalty_bps=royalty_bps,
        )
        tx = sign_and_store(
            sender=locked,
            nonce=nonce,
            kind=TxKind.DEPLOY,
            to_address="",
            data=data,
            gas_limit=settings.NFT_DEPLOY_GAS_LIMIT,
            fees=fees,
        )
    send_transaction(tx_id=tx.pk)
    receipt = _wait_for_receipt(tx, timeout)
    if int(receipt["status"]) != 1 or receipt.get("contractAddress") != address:
        raise ChainRejected(f"deployment {tx.tx_hash} failed", details={"tx_hash": tx.tx_hash})
    collection, _ = Collection.objects.get_or_create(
        chain_id=settings.CHAIN_ID,
        address=address,
        defaults={
            "name": name,
            "symbol": symbol,
            "base_uri": uri,
            "royalty_receiver": royalty_receiver,
            "royalty_bps": royalty_bps,
            "deployer": signer.address,
            "deploy_tx_hash": tx.tx_hash,
            "deploy_block": int(receipt["blockNumber"]),
        },
    )
    return collection


def set_royalty_receiver(
    *, address: str, royalty_receiver: str, royalty_bps: int, timeout: float = 60.0
) -> str:
    """Change a collection's ERC-2981 receiver and rate on chain (signed by the platform, which holds
    the contract's admin role); waits for the receipt, records the new values, returns the tx hash."""
    if not 0 <= royalty_bps <= 10_000:
        raise ChainRejected("royalty_bps must be between 0 and 10000")
    royalty_receiver = check_address(royalty_receiver)
    collection = Collection.objects.get(chain_id=settings.CHAIN_ID, address=check_address(address))
    signer = signer_account()
    sender = ensure_sender(address=signer.address)
    fees = suggest_fees()
    with transaction.atomic():
        locked = lock_sender(sender.pk)
        tx = sign_and_store(
            sender=locked,
            nonce=allocate_nonce(locked),
            kind=TxKind.ROYALTY,
            to_address=collection.address,
            data=contracts.set_default_royalty_call(receiver=royalty_receiver, royalty_bps=royalty_bps),
            gas_limit=settings.NFT_MINT_GAS_LIMIT,
            fees=fees,
        )
    send_transaction(tx_id=tx.pk)
    receipt = _wait_for_receipt(tx, timeout)
    if int(receipt["status"]) != 1:
        raise ChainRejected(f"setDefaultRoyalty {tx.tx_hash} reverted", details={"tx_hash": tx.tx_hash})
    Collection.objects.filter(pk=collection.pk).update(
        royalty_receiver=royalty_receiver, royalty_bps=royalty_bps
    )
    return tx.tx_hash


def _wait_for_receipt(tx: ChainTransaction, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        receipt = client().get_receipt(tx.tx_hash)
        if receipt is not None:
            return receipt
        time.sleep(0.2)
        send_transaction(tx_id=tx.pk)  # idempotent: same bytes
    raise ChainRejected(
        f"transaction {tx.tx_hash} not mined within {timeout}s", details={"tx_hash": tx.tx_hash}
    )
