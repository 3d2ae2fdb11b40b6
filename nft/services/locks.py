"""Named row-lock helpers of the chain layer. Callers must already be inside `transaction.atomic()`.

The "send in flight" markers at the end are session-level advisory locks, not row locks: a worker
holds them (shared) from signing a batch until it has recorded what the node said, with no
database transaction open during the network call; they vanish with its session if it dies.

One helper per aggregate, as in `commerce/services/locks.py`, so every lock of nft is in one place.
Several rows of one kind are taken in primary-key (or nonce) order so two transactions cannot
deadlock on them.

Every row lock here is FOR NO KEY UPDATE (`no_key=True`): none of these transactions changes a
key, and a plain FOR UPDATE also blocks the FOR KEY SHARE that PostgreSQL's foreign-key checks
take on the referenced row. A lane's sender row is held while a batch is signed, and every
transaction row references its sender: with FOR UPDATE the confirmer's round (which re-checks the
foreign keys of rows it updates twice, included then confirmed) waited for the signing of the
next batch, more than a second per round under load. NO KEY UPDATE locks still exclude each other.
"""

from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet

from nft.models import ChainTransaction, Mint, SenderAccount


def lock_sender(sender_id: int) -> SenderAccount:
    """Lock a sender's row: serialises nonce allocation and healing."""
    return SenderAccount.objects.select_for_update(no_key=True).get(pk=sender_id)


def lock_mint(mint_id: int) -> Mint:
    """Lock one mint (its collection read, not locked): who signs its transaction, how it settles.

    `of=("self",)`: a plain FOR UPDATE would lock the joined collection row too, serialising every
    mint of a collection on it (and deadlocking against the foreign-key checks of other mints).
    """
    return (
        Mint.objects.select_for_update(of=("self",), no_key=True).select_related("collection").get(pk=mint_id)
    )


def lock_mints(rows: "QuerySet[Mint]") -> list[Mint]:
    """Lock the mints of `rows` (a filter; joined rows are read, not locked), in primary-key order."""
    return list(rows.select_for_update(of=("self",), no_key=True).order_by("pk"))


def lock_transaction(tx_id: int, *, with_sender: bool = False) -> ChainTransaction:
    """Lock one stored transaction (its sender joined for reading; locked too if `with_sender`).

    Dropping one locks the transaction row only (it then updates the mint: taking the sender here
    as well would order sender -> mint against send_mint's mint -> sender). Replacing one locks
    its sender too, so no nonce healing runs while the same-nonce replacement is signed.
    """
    of = ("self", "sender") if with_sender else ("self",)
    return (
        ChainTransaction.objects.select_for_update(of=of, no_key=True).select_related("sender").get(pk=tx_id)
    )


def lock_transaction_by_hash(tx_hash: str) -> ChainTransaction:
    """Lock one stored transaction found by its hash (the confirmer reads receipts by hash)."""
    return ChainTransaction.objects.select_for_update(no_key=True).get(tx_hash=tx_hash)


def lock_transactions(rows: "QuerySet[ChainTransaction]") -> "QuerySet[ChainTransaction]":
    """Lock the transactions of `rows` (a filter), to be iterated in the caller's order."""
    return rows.select_for_update(no_key=True)


_IN_FLIGHT = 0x6E667478 << 32  # "nftx": advisory-lock key space of stored transactions being sent
IN_FLIGHT_WAIT = "30s"  # longer than one JSON-RPC send (10 s timeout) plus its recording


def _in_flight_key(tx_id: int) -> int:
    return _IN_FLIGHT | (tx_id & 0xFFFFFFFF)


def mark_in_flight(tx_ids: list[int]) -> None:
    """Mark transactions as being sent by this session (until `clear_in_flight` or the session ends)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(pg_advisory_lock_shared(k)) FROM unnest(%s::bigint[]) AS k",
            [[_in_flight_key(i) for i in tx_ids]],
        )


def clear_in_flight(tx_ids: list[int]) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(pg_advisory_unlock_shared(k)) FROM unnest(%s::bigint[]) AS k",
            [[_in_flight_key(i) for i in tx_ids]],
        )


def wait_in_flight(tx_id: int) -> bool:
    """Wait until no other worker is sending `tx_id` (it recorded the outcome, or died); False on timeout."""
    key = _in_flight_key(tx_id)
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"SET LOCAL lock_timeout = '{IN_FLIGHT_WAIT}'")
            cur.execute("SELECT pg_advisory_unlock(%s) FROM (SELECT pg_advisory_lock(%s)) AS l", [key, key])
    except DatabaseError:  # lock_timeout: the sender hangs; re-sending the same bytes is harmless
        return False
    return True
