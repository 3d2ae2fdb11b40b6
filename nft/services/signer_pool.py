"""The signer pool: several minters per chain used in parallel, each on its own nonce lane.

As thirdweb Engine's backend wallets: every member is a SenderAccount with its own nonce sequence,
its own row lock, and its own nonce healing, rebroadcast and replacement (the transaction manager
does all of these per sender). Member 0 is the minter that deploys collections and administers
them; the others must hold MINTER_ROLE on a collection (granted on chain by the minter) and gas
(sent by the minter) before they mint on it: `authorize_signer_pool` does both through the
transaction manager and waits for the receipts. `minting_lanes` only offers members the contract
says are minters, so a member that is not (yet) authorised never signs a mint that would revert.

NFT_SIGNER_POOL_SIZE = 1 (the default) is the minter alone: no on-chain check, today's behaviour.
"""

import logging
import time
from typing import TypeVar

from django.conf import settings
from django.db import transaction

from nft import contracts
from nft.chain import client
from nft.errors import ChainRejected
from nft.keys import signer_pool
from nft.models import ChainTransaction, Collection, TxKind
from nft.services.fees import suggest_fees
from nft.services.locks import lock_sender
from nft.services.senders import allocate_nonce, ensure_sender
from nft.services.signing import sign_and_store
from nft.services.transactions import send_transaction

logger = logging.getLogger(__name__)
T = TypeVar("T")

GRANT_GAS_LIMIT = 120_000
FUND_GAS_LIMIT = 21_000
# A member found without the role is asked again after this many seconds (not on every send).
RECHECK_AFTER_SECONDS = 10.0

# (chain id, collection, member) -> True once the contract said "minter" (a role is never revoked
# by us); -> monotonic time of a "no" answer, so it is re-asked only after RECHECK_AFTER_SECONDS.
_authorised: dict[tuple[int, str, str], bool] = {}
_refused_at: dict[tuple[int, str, str], float] = {}


def pool_addresses() -> list[str]:
    """Addresses of the pool members, the minter first."""
    return [a.address for a in signer_pool()]


def has_minter_role(*, collection: Collection, address: str) -> bool:
    """`hasRole(MINTER_ROLE, address)` on the collection, read from the chain."""
    data = client().call(collection.address, contracts.has_role_call(contracts.MINTER_ROLE, address))
    return bool(contracts.decode_one("bool", data))


def minting_lanes(*, collection: Collection) -> list[str]:
    """Members that may mint on `collection` now (the minter first); cached per process."""
    members = pool_addresses()
    if len(members) == 1:
        return members
    lanes = []
    now = time.monotonic()
    for address in members:
        key = (int(settings.CHAIN_ID), collection.address, address)
        if not _authorised.get(key):
            if now - _refused_at.get(key, -RECHECK_AFTER_SECONDS) < RECHECK_AFTER_SECONDS:
                continue
            if not has_minter_role(collection=collection, address=address):
                _refused_at[key] = now
                continue
            _authorised[key] = True
        lanes.append(address)
    return lanes or members[:1]


def lane_order(lanes: list[T], *, mint_id: int) -> list[T]:
    """The lanes in the order a mint tries them: its own (mint id modulo lanes) first, then the next."""
    start = mint_id % len(lanes)
    return lanes[start:] + lanes[:start]


def authorize_signer_pool(*, collection: Collection, timeout: float = 60.0) -> list[str]:
    """Fund the pool members and grant them MINTER_ROLE on `collection`, on chain; wait for the receipts.

    Idempotent: only what is missing is sent (members below half of NFT_SIGNER_POOL_FUND_WEI are
    topped up to it; members without the role get it). Signed by the minter (the collection's
    admin) through the transaction manager. Returns the hashes of the transactions it sent.
    """
    pool = signer_pool()
    if len(pool) == 1:
        return []
    minter, members = pool[0], pool[1:]
    target = int(settings.NFT_SIGNER_POOL_FUND_WEI)
    balances = {m.address: client().balance(m.address) for m in members}
    to_fund = {a: target - b for a, b in balances.items() if b < target // 2}
    to_grant = [m.address for m in members if not has_minter_role(collection=collection, address=m.address)]
    if not to_fund and not to_grant:
        return []
    fees = suggest_fees()
    sender = ensure_sender(address=minter.address)
    txs: list[ChainTransaction] = []
    with transaction.atomic():
        locked = lock_sender(sender.pk)
        for address, amount in to_fund.items():
            txs.append(
                sign_and_store(
                    sender=locked,
                    nonce=allocate_nonce(locked),
                    kind=TxKind.FUND,
                    to_address=address,
                    data=b"",
                    value=amount,
                    gas_limit=FUND_GAS_LIMIT,
                    fees=fees,
                )
            )
        for address in to_grant:
            txs.append(
                sign_and_store(
                    sender=locked,
                    nonce=allocate_nonce(locked),
                    kind=TxKind.GRANT,
                    to_address=collection.address,
                    data=contracts.grant_role_call(contracts.MINTER_ROLE, address),
                    gas_limit=GRANT_GAS_LIMIT,
                    fees=fees,
                )
            )
    for tx in txs:
        send_transaction(tx_id=tx.pk)
    _wait_for_receipts(txs, timeout)
    for address in to_grant:
        _refused_at.pop((int(settings.CHAIN_ID), collection.address, address), None)
    logger.info(
        "signer pool on %s: funded %s, granted MINTER_ROLE to %s", collection.address, list(to_fund), to_grant
    )
    return [tx.tx_hash for tx in txs]


def _wait_for_receipts(txs: list[ChainTransaction], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(txs)
    while waiting:
        receipts = client().get_receipts([tx.tx_hash for tx in waiting])
        for tx, receipt in zip(list(waiting), receipts, strict=True):
            if receipt is None:
                continue
            if int(receipt["status"]) != 1:
                raise ChainRejected(
                    f"signer pool {tx.kind} {tx.tx_hash} reverted", details={"tx_hash": tx.tx_hash}
                )
            waiting.remove(tx)
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise ChainRejected(
                f"signer pool transactions not mined within {timeout}s",
                details={"tx_hashes": [tx.tx_hash for tx in waiting]},
            )
        time.sleep(0.2)
        for tx in waiting:
            send_transaction(tx_id=tx.pk)  # idempotent: the same bytes
