"""Reading watched wallets' logs from the node: the `eth_getLogs` filters and log -> activity parsing.

Any contract counts, not only our collections: the filters name no contract address, only the event
topic and the watched addresses as indexed-topic lists, so one request covers every wallet of a chunk.

- Transfer(address indexed from, address indexed to, uint256 [indexed] value_or_id): four topics is
  ERC-721 (the token id is indexed), three is ERC-20 (the amount is in `data`).
- ApprovalForAll(address indexed owner, address indexed operator, bool approved) (ERC-721 and ERC-1155).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_utils import keccak, to_checksum_address

from nft.chain import ChainClient
from nft.contracts import TRANSFER_TOPIC
from nft.errors import ChainRejected
from nft.models import ActivityKind, TokenStandard

APPROVAL_FOR_ALL_TOPIC = "0x" + keccak(text="ApprovalForAll(address,address,bool)").hex()


@dataclass(frozen=True)
class WatchedWallet:
    id: int
    address: str  # EIP-55
    user_id: int | None


@dataclass(frozen=True)
class ActivityDraft:
    """One log as seen from one watched wallet, before it is stored."""

    wallet: WatchedWallet
    kind: str
    token_standard: str
    contract: str
    token_id: Decimal | None
    amount: Decimal | None
    counterparty: str
    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    approved_operator: bool = False  # an approval (operator_known is decided when stored)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.tx_hash, self.log_index, self.wallet.id)


def padded(address: str) -> str:
    """An address as a 32-byte indexed topic (what `eth_getLogs` topic filters compare)."""
    return "0x" + "00" * 12 + address.lower().removeprefix("0x")


def _topic_address(topic: str) -> str:
    return to_checksum_address("0x" + topic[-40:])


def _word(data: str) -> int:
    """The first 32-byte word of a log's data (an ERC-20 amount, an approval's bool)."""
    raw = data.removeprefix("0x")[:64]
    return int(raw, 16) if raw else 0


def _hexint(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def filters_for(addresses: Sequence[str], *, from_block: int, to_block: int) -> list[dict[str, Any]]:
    """The two filters covering `addresses`: (Transfer out | ApprovalForAll by them), and Transfer in."""
    topics = [padded(a) for a in addresses]
    span = {"fromBlock": hex(from_block), "toBlock": hex(to_block)}
    return [
        span | {"topics": [[TRANSFER_TOPIC, APPROVAL_FOR_ALL_TOPIC], topics]},
        span | {"topics": [TRANSFER_TOPIC, None, topics]},
    ]


def fetch_logs(
    c: ChainClient,
    addresses: Sequence[str],
    *,
    from_block: int,
    to_block: int,
    chunk: int,
    per_request: int = 10,
) -> list[dict[str, Any]]:
    """Every log of `addresses` in the block range, de-duplicated, oldest first.

    Two filters per `chunk` addresses, sent as batched JSON-RPC requests of at most `per_request`
    filters (nodes cap the body size: anvil refused ~2.8 MB). A node that refuses a large answer
    (result-count limits differ per provider) gets the range in halves; a single block it still
    refuses is a real error and propagates.
    """
    calls = [
        ("eth_getLogs", [f])
        for i in range(0, len(addresses), chunk)
        for f in filters_for(addresses[i : i + chunk], from_block=from_block, to_block=to_block)
    ]
    try:
        answers = [a for i in range(0, len(calls), per_request) for a in c.batch(calls[i : i + per_request])]
    except ChainRejected:
        if from_block >= to_block:
            raise
        middle = (from_block + to_block) // 2
        halves = ((from_block, middle), (middle + 1, to_block))
        return [
            log
            for lo, hi in halves
            for log in fetch_logs(
                c, addresses, from_block=lo, to_block=hi, chunk=chunk, per_request=per_request
            )
        ]
    seen: dict[tuple[str, str, int], dict[str, Any]] = {}
    for logs in answers:
        for log in logs or []:
            if log.get("removed"):
                continue
            seen.setdefault(
                (log["blockHash"].lower(), log["transactionHash"].lower(), _hexint(log["logIndex"])), log
            )
    return sorted(seen.values(), key=lambda log: (_hexint(log["blockNumber"]), _hexint(log["logIndex"])))


def parse_log(log: dict[str, Any], watched: dict[str, WatchedWallet]) -> list[ActivityDraft]:
    """The activity a raw log means for each watched wallet that is a party to it (often one)."""
    topics = [t.lower() for t in log["topics"]]
    if not topics:
        return []
    base = {
        "contract": to_checksum_address(log["address"]),
        "tx_hash": log["transactionHash"].lower(),
        "log_index": _hexint(log["logIndex"]),
        "block_number": _hexint(log["blockNumber"]),
        "block_hash": log["blockHash"].lower(),
    }
    if topics[0] == APPROVAL_FOR_ALL_TOPIC and len(topics) == 3:
        owner = watched.get(_topic_address(topics[1]).lower())
        if owner is None:
            return []
        approved = _word(log["data"]) != 0
        kind = ActivityKind.APPROVAL_FOR_ALL if approved else ActivityKind.APPROVAL_REVOKED
        return [
            ActivityDraft(
                wallet=owner,
                kind=kind,
                token_standard=TokenStandard.UNKNOWN,  # refined to erc721 for our own collections
                token_id=None,
                amount=None,
                counterparty=_topic_address(topics[2]),
                approved_operator=True,
                **base,
            )
        ]
    if topics[0] != TRANSFER_TOPIC or len(topics) not in (3, 4):
        return []
    sender, receiver = _topic_address(topics[1]), _topic_address(topics[2])
    if len(topics) == 4:
        standard, token_id, amount = TokenStandard.ERC721, Decimal(int(topics[3], 16)), None
    else:
        standard, token_id, amount = TokenStandard.ERC20, None, Decimal(_word(log["data"]))
    drafts: list[ActivityDraft] = []
    # A self-transfer concerns one wallet once (one row per log and wallet): it is recorded as out.
    for party, kind, other in (
        (sender, ActivityKind.TRANSFER_OUT, receiver),
        (receiver, ActivityKind.TRANSFER_IN, sender),
    ):
        wallet = watched.get(party.lower())
        if wallet is not None and all(d.wallet.id != wallet.id for d in drafts):
            drafts.append(
                ActivityDraft(
                    wallet=wallet,
                    kind=kind,
                    token_standard=standard,
                    token_id=token_id,
                    amount=amount,
                    counterparty=other,
                    **base,
                )
            )
    return drafts
