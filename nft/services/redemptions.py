"""Redeeming a phygital token for its physical item: the owner calls `redeem` on chain, we ship.

Two ways to sign, one way to finish:
- a token in the shopper's custodial wallet: we sign `redeem` with the custodial key through the
  transaction manager (stored before sent; a gas top-up from the signer first if the wallet needs one);
- a token in a linked wallet: the shopper's wallet signs `redeem` in the browser and posts the
  transaction hash, which we check on chain (sender = owner, target = the collection, the call).
Either way the redemption is done when its `Redeemed` log is final (`confirm_redemptions`), and
then `nft.redeemed` carries the shipping address to the fulfilment side.

Only the token's current owner (read on chain) may redeem, once: the contract refuses a second
redeem, and we refuse before signing anything when the chain or an open redemption says so.
"""

import logging
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from eth_utils import to_checksum_address

from nft import contracts
from nft.chain import client
from nft.errors import (
    AlreadyRedeemed,
    CallReverted,
    NotRedeemable,
    NotTokenOwner,
    RedemptionNotFound,
    RedemptionTxInvalid,
    TokenNotFound,
)
from nft.models import (
    Collection,
    Mint,
    MintStatus,
    Redemption,
    RedemptionStatus,
    TxKind,
    Wallet,
    WalletKind,
)
from nft.services.fees import suggest_fees
from nft.services.finality import final_block_number
from nft.services.gas_topup import plan_gas_topup, sign_gas_topup
from nft.services.locks import lock_sender
from nft.services.senders import allocate_nonce, ensure_sender
from nft.services.signing import sign_and_store
from nft.services.transactions import send_transaction
from realtime.outbox import emit

logger = logging.getLogger(__name__)

REDEEM_GAS_LIMIT = 100_000


def redeemable_mint(*, collection: Collection, token_id: int) -> Mint:
    """The confirmed mint of a token sold as "redeem later", or NotRedeemable / TokenNotFound."""
    mint = Mint.objects.filter(collection=collection, token_id=token_id).first()
    if mint is None:
        raise TokenNotFound(f"token {token_id} of {collection.address} is not known here")
    if mint.status != MintStatus.CONFIRMED:
        raise NotRedeemable("the token is not minted yet", details={"mint_status": mint.status})
    if not mint.metadata.get("redeemable") or not mint.metadata.get("product_id"):
        raise NotRedeemable("this token is not redeemable for a physical item")
    return mint


def chain_owner(*, collection: Collection, token_id: int) -> str:
    """ownerOf(tokenId) read on chain; TokenNotFound when the token does not exist there."""
    try:
        data = client().call(collection.address, contracts.owner_of_call(token_id))
    except CallReverted:
        raise TokenNotFound(f"token {token_id} does not exist on chain") from None
    return to_checksum_address(contracts.decode_one("address", data))


def chain_redeemed(*, collection: Collection, token_id: int) -> bool:
    """isRedeemed(tokenId) read on chain (eth_call)."""
    data = client().call(collection.address, contracts.is_redeemed_call(token_id))
    return bool(contracts.decode_one("bool", data))


def check_redeemable_by(*, user: Any, collection: Collection, token_id: int) -> tuple[Mint, Wallet]:
    """Everything that must hold before a redemption starts; reads the chain, writes nothing."""
    mint = redeemable_mint(collection=collection, token_id=token_id)
    owner = chain_owner(collection=collection, token_id=token_id)
    wallet = Wallet.objects.filter(user=user, address=owner).first()
    if wallet is None:
        raise NotTokenOwner("the token is not held by one of your wallets", details={"owner": owner})
    if chain_redeemed(collection=collection, token_id=token_id):
        raise AlreadyRedeemed(f"token {token_id} was already redeemed")
    open_ = Redemption.objects.filter(collection=collection, token_id=token_id).exclude(
        status=RedemptionStatus.FAILED
    )
    if open_.exclude(status=RedemptionStatus.AWAITING_SIGNATURE).exists():
        raise AlreadyRedeemed(f"token {token_id} is already being redeemed")
    return mint, wallet


def start_redemption(
    *, user: Any, collection: Collection, token_id: int, shipping_address: dict[str, str]
) -> Redemption:
    """Redeem a token the user holds: sign it ourselves (custodial) or wait for the wallet (linked).

    A linked-wallet redemption still awaiting its signature is replaced by a new request of the
    same owner (a new address, a closed browser tab); any other open redemption is a conflict.
    """
    _, wallet = check_redeemable_by(user=user, collection=collection, token_id=token_id)
    if wallet.kind == WalletKind.CUSTODIAL:
        return _redeem_custodial(
            user=user, wallet=wallet, collection=collection, token_id=token_id, address=shipping_address
        )
    try:
        with transaction.atomic():
            Redemption.objects.filter(
                collection=collection, token_id=token_id, status=RedemptionStatus.AWAITING_SIGNATURE
            ).update(status=RedemptionStatus.FAILED, failure_reason="superseded by a new request")
            return Redemption.objects.create(
                user=user,
                collection=collection,
                token_id=Decimal(token_id),
                owner_address=wallet.address,
                wallet_kind=WalletKind.LINKED,
                shipping_address=shipping_address,
                status=RedemptionStatus.AWAITING_SIGNATURE,
            )
    except IntegrityError:
        raise AlreadyRedeemed(f"token {token_id} is already being redeemed") from None


def _redeem_custodial(
    *, user: Any, wallet: Wallet, collection: Collection, token_id: int, address: dict[str, str]
) -> Redemption:
    """Sign `redeem` with the custodial key (a gas top-up first if needed), store, commit, then send."""
    custody_sender = ensure_sender(address=wallet.address, custody_index=wallet.derivation_index)
    fees = suggest_fees()
    topup = plan_gas_topup(address=wallet.address, gas_limit=REDEEM_GAS_LIMIT, fees=fees)
    try:
        with transaction.atomic():
            redemption = Redemption.objects.create(
                user=user,
                collection=collection,
                token_id=Decimal(token_id),
                owner_address=wallet.address,
                wallet_kind=WalletKind.CUSTODIAL,
                shipping_address=address,
                status=RedemptionStatus.SUBMITTED,
            )
            fund_tx = sign_gas_topup(topup, fees=fees) if topup else None
            locked = lock_sender(custody_sender.pk)
            tx = sign_and_store(
                sender=locked,
                nonce=allocate_nonce(locked),
                kind=TxKind.REDEEM,
                to_address=collection.address,
                data=contracts.redeem_call(token_id),
                gas_limit=REDEEM_GAS_LIMIT,
                fees=fees,
            )
            redemption.tx, redemption.tx_hash = tx, tx.tx_hash
            redemption.save(update_fields=["tx", "tx_hash", "updated_at"])
    except IntegrityError:
        raise AlreadyRedeemed(f"token {token_id} is already being redeemed") from None
    if fund_tx is not None:
        send_transaction(tx_id=fund_tx.pk)
    send_transaction(tx_id=tx.pk)  # unfunded yet? rebroadcast_pending sends it again after the top-up
    return redemption


def redeem_transaction(redemption: Redemption) -> dict[str, Any]:
    """What a linked wallet must sign: the `redeem` call to the collection (eth_sendTransaction shape)."""
    return {
        "chain_id": redemption.collection.chain_id,
        "from": redemption.owner_address,
        "to": redemption.collection.address,
        "data": "0x" + contracts.redeem_call(int(redemption.token_id)).hex(),
        "value": "0x0",
    }


def submit_redemption_tx(*, user: Any, redemption_id: int, tx_hash: str) -> Redemption:
    """The shopper's wallet sent `redeem`: check that transaction on chain, then wait for it.

    Accepted only when the node knows a transaction with that hash from the token's owner to the
    collection calling `redeem(tokenId)`; anything else is RedemptionTxInvalid and changes nothing.
    """
    redemption = Redemption.objects.select_related("collection").filter(pk=redemption_id, user=user).first()
    if redemption is None:
        raise RedemptionNotFound("no such redemption")
    tx_hash = tx_hash.lower()
    if redemption.status != RedemptionStatus.AWAITING_SIGNATURE:
        if redemption.tx_hash == tx_hash:
            return redemption  # the same post again
        raise AlreadyRedeemed(
            "this redemption already has its transaction", details={"status": redemption.status}
        )
    tx = client().rpc("eth_getTransactionByHash", [tx_hash])
    expected = redeem_transaction(redemption)
    problems = []
    if not tx:
        problems.append("the node does not know this transaction")
    else:
        if to_checksum_address(tx["from"]) != redemption.owner_address:
            problems.append("not sent by the token's owner")
        if not tx.get("to") or to_checksum_address(tx["to"]) != redemption.collection.address:
            problems.append("not sent to the collection")
        if str(tx.get("input", "")).lower() != expected["data"]:
            problems.append("not a redeem of this token")
        if tx.get("chainId") is not None and int(tx["chainId"], 16) != redemption.collection.chain_id:
            problems.append("another chain")
    if problems:
        raise RedemptionTxInvalid("; ".join(problems), details={"tx_hash": tx_hash})
    raw = client().rpc("eth_getRawTransactionByHash", [tx_hash]) or "0x"
    try:
        with transaction.atomic():
            updated = Redemption.objects.filter(
                pk=redemption.pk, status=RedemptionStatus.AWAITING_SIGNATURE
            ).update(
                status=RedemptionStatus.SUBMITTED,
                tx_hash=tx_hash,
                raw_tx=bytes.fromhex(str(raw)[2:]),
                updated_at=timezone.now(),
            )
    except IntegrityError:
        raise RedemptionTxInvalid("this transaction belongs to another redemption") from None
    if not updated:
        raise AlreadyRedeemed("this redemption already has its transaction")
    redemption.refresh_from_db()
    return redemption


def _redeemed_log(receipt: dict[str, Any], redemption: Redemption) -> dict[str, Any] | None:
    for log in receipt.get("logs") or []:
        topics = [str(t).lower() for t in log.get("topics") or []]
        if (
            len(topics) == 4
            and topics[0] == contracts.REDEEMED_TOPIC
            and to_checksum_address(log["address"]) == redemption.collection.address
            and int(topics[1], 16) == int(redemption.token_id)
        ):
            return log
    return None


def confirm_redemptions(*, limit: int = 100) -> list[int]:
    """Settle submitted redemptions whose transaction is final: `nft.redeemed`, or failed if reverted.

    Reads the chain first (receipts, the final block), then writes each redemption in its own
    transaction. A receipt in a block that is not final yet waits; a reorg simply makes it wait
    again (nothing is recorded before finality).
    """
    c = client()
    pending = list(
        Redemption.objects.select_related("collection")
        .filter(status=RedemptionStatus.SUBMITTED, collection__chain_id=settings.CHAIN_ID)
        .exclude(tx_hash="")
        .order_by("pk")[:limit]
    )
    if not pending:
        return []
    final = final_block_number(c, head=c.block_number())
    done = []
    for redemption in pending:
        receipt = c.rpc("eth_getTransactionReceipt", [redemption.tx_hash])
        if not receipt:
            _resend_dropped(redemption)
            continue
        if int(receipt["blockNumber"], 16) > final:
            continue
        block = c.get_block(int(receipt["blockNumber"], 16))
        if block is None or "0x" + bytes(block["hash"]).hex() != str(receipt["blockHash"]).lower():
            continue  # the receipt raced a reorg; the next round reads it again
        log = _redeemed_log(receipt, redemption) if int(receipt["status"], 16) == 1 else None
        if _settle(redemption, receipt=receipt, log=log):
            done.append(redemption.pk)
    return done


def _resend_dropped(redemption: Redemption) -> None:
    """A shopper-signed redeem not in any block (a reorg dropped it, or a node lost it): send it again.

    Our own custodial transactions are re-sent by the transaction manager. If the owner's wallet
    has used that nonce for another transaction since, this redeem can never be mined: it fails,
    and the owner may redeem again.
    """
    if redemption.tx_id is not None or not redemption.raw_tx:
        return
    outcome = client().send_raw(bytes(redemption.raw_tx))
    if outcome.status == "nonce_too_low" and client().get_receipt(redemption.tx_hash) is None:
        Redemption.objects.filter(pk=redemption.pk, status=RedemptionStatus.SUBMITTED).update(
            status=RedemptionStatus.FAILED,
            failure_reason="the wallet used this nonce for another transaction",
            updated_at=timezone.now(),
        )


def _settle(redemption: Redemption, *, receipt: dict[str, Any], log: dict[str, Any] | None) -> bool:
    with transaction.atomic():
        row = Redemption.objects.select_for_update().select_related("collection").get(pk=redemption.pk)
        if row.status != RedemptionStatus.SUBMITTED:
            return False
        row.block_number = int(receipt["blockNumber"], 16)
        if log is None:
            row.status = RedemptionStatus.FAILED
            row.failure_reason = "the redeem transaction reverted (not the owner, or already redeemed)"
            row.save(update_fields=["status", "failure_reason", "block_number", "updated_at"])
            logger.warning("redemption %s failed: %s", row.pk, row.tx_hash)
            return True
        row.status, row.confirmed_at = RedemptionStatus.CONFIRMED, timezone.now()
        row.save(update_fields=["status", "confirmed_at", "block_number", "updated_at"])
        emit_redeemed(row)
    return True


def emit_redeemed(redemption: Redemption) -> None:
    """`nft.redeemed` for a confirmed redemption (inside the caller's transaction)."""
    mint = Mint.objects.get(collection=redemption.collection, token_id=redemption.token_id)
    meta = mint.metadata
    emit(
        type="nft.redeemed",
        key=f"redemption-{redemption.pk}",
        payload={
            "redemption_id": redemption.pk,
            "chain_id": redemption.collection.chain_id,
            "contract": redemption.collection.address,
            "token_id": str(int(redemption.token_id)),
            "owner_address": redemption.owner_address,
            "owner_user_id": redemption.user_id,
            "merchant_id": int(meta["merchant_id"]),
            "product_id": int(meta["product_id"]),
            "sku_id": int(meta["sku_id"]) if meta.get("sku_id") else None,
            "shipping_address": redemption.shipping_address,
            "tx_hash": redemption.tx_hash,
        },
    )


def redemption_of(*, user: Any, redemption_id: int) -> Redemption:
    redemption = Redemption.objects.select_related("collection").filter(pk=redemption_id, user=user).first()
    if redemption is None:
        raise RedemptionNotFound("no such redemption")
    return redemption
