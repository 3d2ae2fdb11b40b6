"""Shoppers' wallets: a custodial one derived per user, linked ones proven with SIWE, and claims."""

import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from nft import contracts
from nft.chain import client
from nft.errors import ClaimNotAllowed, SiweError, TokenNotFound, WalletConflict
from nft.keys import custodial_account
from nft.models import ChainTransaction, Claim, ClaimStatus, Collection, SiweNonce, TxKind, Wallet, WalletKind
from nft.models.chain import UNMINED_STATUSES
from nft.services.fees import suggest_fees
from nft.services.gas_topup import plan_gas_topup, sign_gas_topup
from nft.services.locks import lock_sender
from nft.services.mints import check_address
from nft.services.senders import allocate_nonce, ensure_sender
from nft.services.signing import sign_and_store
from nft.services.transactions import send_transaction
from nft.siwe import verify_message
from realtime.outbox import emit


def custodial_wallet(*, user: Any) -> Wallet:
    """The user's custodial wallet, created on first use (key derived at index = user id, never stored)."""
    existing = Wallet.objects.filter(user=user, kind=WalletKind.CUSTODIAL).first()
    if existing is not None:
        return existing
    account = custodial_account(user.pk)
    try:
        with transaction.atomic():
            return Wallet.objects.create(
                user=user, address=account.address, kind=WalletKind.CUSTODIAL, derivation_index=user.pk
            )
    except IntegrityError:
        return Wallet.objects.get(user=user, kind=WalletKind.CUSTODIAL)


def receiving_address(*, user: Any) -> str:
    """Where a new NFT of `user` goes: their latest linked wallet, else their custodial one."""
    linked = Wallet.objects.filter(user=user, kind=WalletKind.LINKED).order_by("-created_at").first()
    return (linked or custodial_wallet(user=user)).address


def issue_siwe_nonce(*, user: Any) -> SiweNonce:
    """A fresh single-use nonce the user's wallet must sign within SIWE_NONCE_TTL_SECONDS."""
    return SiweNonce.objects.create(
        nonce=secrets.token_hex(12),
        user=user,
        expires_at=timezone.now() + timedelta(seconds=settings.SIWE_NONCE_TTL_SECONDS),
    )


def link_wallet(*, user: Any, message: str, signature: str) -> Wallet:
    """Link the wallet that signed an EIP-4361 `message`; the nonce is spent only on success.

    Rejects (SiweError, nothing linked): bad signature, other domain / chain / URI, expired or
    not-yet-valid message, a nonce that is unknown, not the user's, expired or already used.
    """
    now = timezone.now()
    parsed = verify_message(
        message,
        signature,
        domain=settings.SIWE_DOMAIN,
        chain_id=settings.CHAIN_ID,
        now=now,
        uri=settings.SIWE_URI,
    )
    with transaction.atomic():
        spent = SiweNonce.objects.filter(
            nonce=parsed.nonce, user=user, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if spent != 1:
            raise SiweError("nonce is unknown, expired or already used", details={"field": "nonce"})
        existing = Wallet.objects.filter(address=parsed.address).first()
        if existing is not None and existing.user_id != user.pk:
            raise WalletConflict("this wallet is linked to another account")
        if existing is not None:
            return existing
        return Wallet.objects.create(user=user, address=parsed.address, kind=WalletKind.LINKED)


def claim_token(*, user: Any, collection: Collection, token_id: int, to_address: str | None = None) -> Claim:
    """Transfer a token from the user's custodial wallet to a linked wallet, as tracked transactions.

    If the custodial wallet cannot pay the gas, a top-up from the signer is sent first (a `fund`
    transaction); the transfer waits for it (`rebroadcast_pending` re-sends until it is funded).
    """
    custodial = Wallet.objects.filter(user=user, kind=WalletKind.CUSTODIAL).first()
    if custodial is None:
        raise ClaimNotAllowed("you have no custodial wallet")
    linked = Wallet.objects.filter(user=user, kind=WalletKind.LINKED)
    target = linked.filter(address=check_address(to_address)).first() if to_address else linked.last()
    if target is None:
        raise ClaimNotAllowed("link a wallet with Sign-In with Ethereum first")
    c = client()
    try:
        owner = contracts.decode_one("address", c.call(collection.address, contracts.owner_of_call(token_id)))
    except Exception:
        raise TokenNotFound(f"token {token_id} does not exist") from None
    if check_address(owner) != custodial.address:
        raise ClaimNotAllowed("the token is not in your custodial wallet")
    custody_sender = ensure_sender(address=custodial.address, custody_index=custodial.derivation_index)
    fees = suggest_fees()
    topup = plan_gas_topup(address=custodial.address, gas_limit=settings.NFT_TRANSFER_GAS_LIMIT, fees=fees)
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                user=user,
                collection=collection,
                token_id=Decimal(token_id),
                from_address=custodial.address,
                to_address=target.address,
            )
            fund_tx = sign_gas_topup(topup, fees=fees, claim_id=claim.pk) if topup else None
            locked = lock_sender(custody_sender.pk)
            claim_tx = sign_and_store(
                sender=locked,
                nonce=allocate_nonce(locked),
                kind=TxKind.CLAIM,
                to_address=collection.address,
                data=contracts.transfer_call(sender=custodial.address, to=target.address, token_id=token_id),
                gas_limit=settings.NFT_TRANSFER_GAS_LIMIT,
                fees=fees,
                claim_id=claim.pk,
            )
    except IntegrityError:
        raise ClaimNotAllowed("this token is already being claimed") from None
    if fund_tx is not None:
        send_transaction(tx_id=fund_tx.pk)
    send_transaction(tx_id=claim_tx.pk)
    return claim


def resend_claim(*, claim_id: int) -> int:
    """Re-send the stored bytes of a claim's unmined transactions (gas top-up first); return how many."""
    txs = ChainTransaction.objects.filter(claim_id=claim_id, status__in=UNMINED_STATUSES)
    sent = 0
    for tx_id in txs.order_by("pk").values_list("pk", flat=True):  # stored in order: top-up, claim
        if send_transaction(tx_id=tx_id) is not None:
            sent += 1
    return sent


def settle_claim(*, claim_id: int, ok: bool, tx_hash: str) -> None:
    """Mark a claim final (its transfer confirmed or reverted) and emit `nft.claim.completed`.

    Runs inside the confirmer's transaction. Only a claim still `submitted` moves (a reorg re-opens a
    final claim to `submitted`, so a re-confirmed claim emits again; notifications dedupe by claim id).
    """
    claim = Claim.objects.select_for_update().select_related("collection").filter(pk=claim_id).first()
    if claim is None or claim.status != ClaimStatus.SUBMITTED:
        return
    claim.status = ClaimStatus.CONFIRMED if ok else ClaimStatus.FAILED
    claim.save(update_fields=["status", "updated_at"])
    emit(
        type="nft.claim.completed",
        key=claim.from_address.lower(),
        payload={
            "claim_id": claim.pk,
            "user_id": claim.user_id,
            "chain_id": claim.collection.chain_id,
            "contract_address": claim.collection.address,
            "token_id": str(int(claim.token_id)),
            "from_address": claim.from_address,
            "to_address": claim.to_address,
            "tx_hash": tx_hash,
            "outcome": "confirmed" if ok else "failed",
        },
    )
