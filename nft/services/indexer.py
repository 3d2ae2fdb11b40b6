"""Transfer-log indexer: our collections' ERC-721 Transfer events -> current token ownership."""

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Q

from nft.contracts import checksum, topic_address, topic_uint
from nft.models import TokenOwnership, TransferLog


def _hex(value: Any) -> str:
    raw = bytes(value) if not isinstance(value, str) else bytes.fromhex(value.removeprefix("0x"))
    return "0x" + raw.hex()


def parse_transfer(log: dict[str, Any], chain_id: int) -> TransferLog:
    """A raw `eth_getLogs` entry of Transfer(from, to, tokenId) as an unsaved TransferLog."""
    topics = log["topics"]
    return TransferLog(
        chain_id=chain_id,
        tx_hash=_hex(log["transactionHash"]),
        log_index=int(log["logIndex"]),
        block_number=int(log["blockNumber"]),
        block_hash=_hex(log["blockHash"]),
        contract=checksum(log["address"]),
        from_address=topic_address(topics[1]),
        to_address=topic_address(topics[2]),
        token_id=Decimal(topic_uint(topics[3])),
    )


def apply_transfers(transfers: list[TransferLog]) -> int:
    """Store logs (a log seen twice is stored once) and move ownership forward; inside atomic.

    A fixed number of queries whatever the number of logs: the newest log per token wins.
    """
    if not transfers:
        return 0
    TransferLog.objects.bulk_create(transfers, ignore_conflicts=True)
    newest: dict[tuple[int, str, Decimal], TransferLog] = {}
    for t in sorted(transfers, key=lambda t: (t.block_number, t.log_index)):
        newest[(t.chain_id, t.contract, Decimal(t.token_id))] = t
    tokens: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    for chain_id, contract, token_id in newest:
        tokens[(chain_id, contract)].append(token_id)
    which = Q()
    for (chain_id, contract), token_ids in tokens.items():
        which |= Q(chain_id=chain_id, contract=contract, token_id__in=token_ids)
    current = {
        (o.chain_id, o.contract, Decimal(o.token_id)): o
        for o in TokenOwnership.objects.select_for_update().filter(which).order_by("pk")
    }
    created, moved = [], []
    for key, t in newest.items():
        owner = current.get(key)
        if owner is None:
            created.append(
                TokenOwnership(
                    chain_id=t.chain_id,
                    contract=t.contract,
                    token_id=t.token_id,
                    owner=t.to_address,
                    block_number=t.block_number,
                    log_index=t.log_index,
                    tx_hash=t.tx_hash,
                )
            )
        elif (t.block_number, t.log_index) > (owner.block_number, owner.log_index):
            owner.owner, owner.block_number, owner.log_index, owner.tx_hash = (
                t.to_address,
                t.block_number,
                t.log_index,
                t.tx_hash,
            )
            moved.append(owner)
    TokenOwnership.objects.bulk_create(created)
    if moved:
        TokenOwnership.objects.bulk_update(moved, ["owner", "block_number", "log_index", "tx_hash"])
    return len(transfers)


def rollback_after(*, chain_id: int, block_number: int) -> int:
    """Forget logs of blocks after `block_number` (reorged away) and recompute their tokens' owners."""
    dropped = TransferLog.objects.filter(chain_id=chain_id, block_number__gt=block_number)
    tokens = set(dropped.values_list("contract", "token_id"))
    count, _ = dropped.delete()
    for contract, token_id in tokens:
        latest = (
            TransferLog.objects.filter(chain_id=chain_id, contract=contract, token_id=token_id)
            .order_by("-block_number", "-log_index")
            .first()
        )
        key = Q(chain_id=chain_id, contract=contract, token_id=token_id)
        if latest is None:
            TokenOwnership.objects.filter(key).delete()
        else:
            TokenOwnership.objects.update_or_create(
                chain_id=chain_id,
                contract=contract,
                token_id=token_id,
                defaults={
                    "owner": latest.to_address,
                    "block_number": latest.block_number,
                    "log_index": latest.log_index,
                    "tx_hash": latest.tx_hash,
                },
            )
    return count
