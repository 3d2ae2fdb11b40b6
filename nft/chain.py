"""The JSON-RPC client of the chain (web3.py), with node errors sorted into our error tree."""

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import BlockNotFound, ContractLogicError, TransactionNotFound, Web3RPCError

from nft.errors import CallReverted, ChainRejected, ChainUnavailable

# How the node words each send outcome (geth, anvil, erigon, nethermind spell them alike).
ALREADY_KNOWN = ("already known", "known transaction", "alreadyknown", "already imported")
NONCE_TOO_LOW = ("nonce too low", "nonce is too low", "oldnonce")
UNDERPRICED = ("underpriced", "replacement transaction", "fee too low", "less than block base fee")
INSUFFICIENT_FUNDS = ("insufficient funds",)
NONCE_TOO_HIGH = ("nonce too high", "nonce gap")


@dataclass(frozen=True)
class SendOutcome:
    """What the node said to eth_sendRawTransaction: accepted, or why not."""

    status: (
        str  # accepted | known | nonce_too_low | underpriced | insufficient_funds | nonce_too_high | rejected
    )
    message: str = ""

    @property
    def in_pool_or_chain(self) -> bool:
        return self.status in ("accepted", "known")


def classify_send_error(message: str) -> str:
    """Map a node's error text to one SendOutcome status."""
    text = message.lower()
    for status, needles in (
        ("known", ALREADY_KNOWN),
        ("nonce_too_low", NONCE_TOO_LOW),
        ("nonce_too_high", NONCE_TOO_HIGH),
        ("underpriced", UNDERPRICED),
        ("insufficient_funds", INSUFFICIENT_FUNDS),
    ):
        if any(n in text for n in needles):
            return status
    return "rejected"


def _rpc_message(exc: Web3RPCError) -> str:
    resp = getattr(exc, "rpc_response", None)
    if isinstance(resp, dict) and isinstance(resp.get("error"), dict):
        return str(resp["error"].get("message", exc))
    return str(exc)


class ChainClient:
    """A thin, typed wrapper over web3.py for the calls the nft package makes."""

    def __init__(self, rpc_url: str | None = None, *, timeout: float = 10.0) -> None:
        self.rpc_url = rpc_url or settings.CHAIN_RPC_URL
        self.w3 = Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": timeout}))
        self._session = requests.Session()

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError) as exc:
            raise ChainUnavailable(f"chain node at {self.rpc_url} did not answer: {exc}") from exc
        except (TransactionNotFound, BlockNotFound):
            raise  # "nothing there" answers, handled by the callers
        except Web3RPCError as exc:
            raise ChainRejected(_rpc_message(exc)) from exc

    # --- reads ---------------------------------------------------------------------------------
    def chain_id(self) -> int:
        return int(self._call(lambda: self.w3.eth.chain_id))

    def block_number(self) -> int:
        return int(self._call(lambda: self.w3.eth.block_number))

    def get_block(self, number: int | str) -> dict[str, Any] | None:
        """Block header plus transaction hashes, or None when the node has no such block."""
        try:
            return dict(self._call(self.w3.eth.get_block, number, False))
        except BlockNotFound:
            return None

    def get_receipt(self, tx_hash: str) -> dict[str, Any] | None:
        try:
            return dict(self._call(self.w3.eth.get_transaction_receipt, HexBytes(tx_hash)))
        except TransactionNotFound:
            return None

    def block_receipts(self, number: int) -> list[dict[str, Any]]:
        result = self.rpc("eth_getBlockReceipts", [hex(number)])
        return list(result or [])

    def nonce(self, address: str, block: str = "latest") -> int:
        return int(self._call(self.w3.eth.get_transaction_count, address, block))

    def balance(self, address: str) -> int:
        return int(self._call(self.w3.eth.get_balance, address))

    def base_fee(self) -> int:
        """The base fee the next block will charge (from the `pending` block when offered)."""
        block = self._call(self.w3.eth.get_block, "pending")
        return int(block.get("baseFeePerGas") or 0)

    def get_logs(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(log) for log in self._call(self.w3.eth.get_logs, params)]

    def get_logs_raw(
        self, *, from_block: int, to_block: int, addresses: list[str], topics: list[Any]
    ) -> list[dict[str, Any]]:
        """eth_getLogs without web3.py's result formatting (a checksum and a HexBytes for every field,
        most of a confirmer round's CPU at a hundred mints a block): numbers as int, the rest 0x-hex."""
        params = {
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
            "address": addresses,
            "topics": topics,
        }
        return [_log(entry) for entry in self.rpc("eth_getLogs", [params]) or []]

    def call(self, to: str, data: bytes) -> bytes:
        """eth_call at the latest block; CallReverted when the contract reverts (e.g. no such token)."""
        try:
            return bytes(self._call(self.w3.eth.call, {"to": to, "data": HexBytes(data)}))
        except ContractLogicError as exc:
            raise CallReverted(f"call to {to} reverted", details={"data": str(exc.data or "")}) from exc

    def rpc(self, method: str, params: list[Any]) -> Any:
        """A raw JSON-RPC call (anvil_* / evm_* in tests and the dev chain)."""
        response = self._call(self.w3.provider.make_request, method, params)
        if "error" in response:
            raise ChainRejected(str(response["error"].get("message", response["error"])))
        return response.get("result")

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several JSON-RPC calls in one HTTP request; results (raw JSON) in call order."""
        out = []
        for answer in self.batch_answers(calls):
            if "error" in answer:
                raise ChainRejected(str(answer["error"].get("message", answer["error"])))
            out.append(answer.get("result"))
        return out

    def batch_answers(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """Several JSON-RPC calls in one HTTP request; each answer (result or error) in call order."""
        if not calls:
            return []
        body: list[Any] = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)
        ]
        try:
            response = self._session.post(self.rpc_url, json=body, timeout=30)
            response.raise_for_status()
            body_json = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ChainUnavailable(f"chain node at {self.rpc_url} did not answer: {exc}") from exc
        if not isinstance(body_json, list):  # the node refused the whole batch (e.g. body too large)
            error = body_json.get("error", body_json) if isinstance(body_json, dict) else body_json
            raise ChainRejected(str(error.get("message", error) if isinstance(error, dict) else error))
        answers = {a["id"]: a for a in body_json}
        return [answers.get(i, {}) for i in range(len(calls))]

    def get_blocks(self, numbers: list[int]) -> list[dict[str, Any] | None]:
        """Headers + transaction hashes of many blocks in one round trip (None where missing)."""
        raw = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        return [_block(b) if b else None for b in raw]

    def get_receipts(self, tx_hashes: list[str]) -> list[dict[str, Any] | None]:
        """Receipts of many transactions in one round trip (None where not mined)."""
        raw = self.batch([("eth_getTransactionReceipt", [h]) for h in tx_hashes])
        return [_receipt(r) if r else None for r in raw]

    # --- writes --------------------------------------------------------------------------------
    def send_raw(self, raw: bytes) -> SendOutcome:
        """eth_sendRawTransaction; never raises for a node refusal, only when the node is down."""
        try:
            self._call(self.w3.eth.send_raw_transaction, HexBytes(raw))
        except ChainRejected as exc:
            return SendOutcome(classify_send_error(exc.message), exc.message)
        return SendOutcome("accepted")

    def send_raw_many(self, raws: list[bytes]) -> list[SendOutcome]:
        """eth_sendRawTransaction of several transactions in one HTTP request; outcomes in order."""
        answers = self.batch_answers([("eth_sendRawTransaction", ["0x" + raw.hex()]) for raw in raws])
        outcomes = []
        for answer in answers:
            if "result" in answer:
                outcomes.append(SendOutcome("accepted"))
            else:  # an error, or no answer at all for this call (the bytes stay stored: re-sent later)
                error = answer.get("error", {"message": "no answer in the batch"})
                message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
                outcomes.append(SendOutcome(classify_send_error(message), message))
        return outcomes


def _block(b: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": int(b["number"], 16),
        "hash": b["hash"],
        "parentHash": b["parentHash"],
        "timestamp": int(b["timestamp"], 16),
        "transactions": list(b["transactions"]),
    }


def _log(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "address": entry["address"],
        "topics": list(entry["topics"]),
        "data": entry["data"],
        "blockNumber": int(entry["blockNumber"], 16),
        "blockHash": entry["blockHash"],
        "transactionHash": entry["transactionHash"],
        "logIndex": int(entry["logIndex"], 16),
    }


def _receipt(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "transactionHash": r["transactionHash"],
        "blockNumber": int(r["blockNumber"], 16),
        "blockHash": r["blockHash"],
        "status": int(r["status"], 16),
        "gasUsed": int(r["gasUsed"], 16),
        "contractAddress": r.get("contractAddress"),
    }


_local = threading.local()


def client() -> ChainClient:
    """One client per thread (web3's HTTP session is not shared across threads)."""
    c: ChainClient | None = getattr(_local, "client", None)
    if c is None or c.rpc_url != settings.CHAIN_RPC_URL:
        c = ChainClient()
        _local.client = c
    return c


_fee_cache: dict[str, tuple[float, int]] = {}


def cached_base_fee(max_age: float = 1.0) -> int:
    """The next block's base fee, re-read at most every `max_age` seconds per process."""
    now = time.monotonic()
    hit = _fee_cache.get(settings.CHAIN_RPC_URL)
    if hit and now - hit[0] < max_age:
        return hit[1]
    fee = client().base_fee()
    _fee_cache[settings.CHAIN_RPC_URL] = (now, fee)
    return fee
