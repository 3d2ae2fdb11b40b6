"""Named row-lock helpers of the chain layer. Callers must already be inside `transaction.atomic()`.

One helper per aggregate, as in `commerce/services/locks.py`, so every lock of nft is in one place.
Several rows of one kind are taken in primary-key (or nonce) order so two transactions cannot
deadlock on them.
"""

from django.db.models import QuerySet

from nft.models import ChainTransaction, Mint, SenderAccount


def lock_sender(sender_id: int) -> SenderAccount:
    """Lock a sender's row: serialises nonce allocation and healing."""
    return SenderAccount.objects.select_for_update().get(pk=sender_id)


def lock_mint(mint_id: int) -> Mint:
    """Lock one mint (with its collection): who signs its transaction, how it settles."""
    return Mint.objects.select_for_update().select_related("collection").get(pk=mint_id)


def lock_transaction(tx_id: int, *, with_sender: bool = False) -> ChainTransaction:
    """Lock one stored transaction (its sender joined for reading; locked too if `with_sender`).

    Dropping one locks the transaction row only (it then updates the mint: taking the sender here
    as well would order sender -> mint against send_mint's mint -> sender). Replacing one locks
    its sender too, so no nonce healing runs while the same-nonce replacement is signed.
    """
    of = ("self", "sender") if with_sender else ("self",)
    return ChainTransaction.objects.select_for_update(of=of).select_related("sender").get(pk=tx_id)


def lock_transaction_by_hash(tx_hash: str) -> ChainTransaction:
    """Lock one stored transaction found by its hash (the confirmer reads receipts by hash)."""
    return ChainTransaction.objects.select_for_update().get(tx_hash=tx_hash)


def lock_transactions(rows: "QuerySet[ChainTransaction]") -> "QuerySet[ChainTransaction]":
    """Lock the transactions of `rows` (a filter), to be iterated in the caller's order."""
    return rows.select_for_update()
