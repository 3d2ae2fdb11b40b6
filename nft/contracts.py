"""The compiled collection contract: artifact, call encoding and the addresses it will have."""

import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import rlp
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"
COLLECTION = "MintdropCollection"

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
REDEEMED_TOPIC = "0x" + keccak(text="Redeemed(uint256,address,address)").hex()
MINTER_ROLE = keccak(text="MINTER_ROLE")
CONSTRUCTOR_TYPES = ["string", "string", "string", "address", "address", "address", "uint96"]

_MINT = function_signature_to_4byte_selector("mintForLine(address,uint256,uint256)")
_TRANSFER = function_signature_to_4byte_selector("safeTransferFrom(address,address,uint256)")
_OWNER_OF = function_signature_to_4byte_selector("ownerOf(uint256)")
_LINE_MINTED = function_signature_to_4byte_selector("lineMinted(uint256)")
_TOTAL_MINTED = function_signature_to_4byte_selector("totalMinted()")
_TOKEN_URI = function_signature_to_4byte_selector("tokenURI(uint256)")
_HAS_ROLE = function_signature_to_4byte_selector("hasRole(bytes32,address)")
_GRANT_ROLE = function_signature_to_4byte_selector("grantRole(bytes32,address)")
_ROYALTY_INFO = function_signature_to_4byte_selector("royaltyInfo(uint256,uint256)")
_BALANCE_OF = function_signature_to_4byte_selector("balanceOf(address)")
_REDEEM = function_signature_to_4byte_selector("redeem(uint256)")
_IS_REDEEMED = function_signature_to_4byte_selector("isRedeemed(uint256)")
_SET_DEFAULT_ROYALTY = function_signature_to_4byte_selector("setDefaultRoyalty(address,uint96)")


@cache
def artifact(name: str = COLLECTION) -> dict[str, Any]:
    """The committed build output (abi, bytecode, compiler version, settings)."""
    data: dict[str, Any] = json.loads((BUILD_DIR / f"{name}.json").read_text())
    return data


def deploy_data(
    *, name: str, symbol: str, base_uri: str, admin: str, minter: str, royalty_receiver: str, royalty_bps: int
) -> bytes:
    """Creation bytecode followed by the ABI-encoded constructor arguments."""
    args = encode(CONSTRUCTOR_TYPES, [name, symbol, base_uri, admin, minter, royalty_receiver, royalty_bps])
    return bytes.fromhex(artifact()["bytecode"][2:]) + args


def create_address(sender: str, nonce: int) -> str:
    """The address a contract deployed by `sender` with `nonce` gets (CREATE)."""
    raw = rlp.encode([bytes.fromhex(sender[2:]), nonce])
    return to_checksum_address(keccak(raw)[12:])


def mint_call(*, to: str, line_id: int, token_id: int) -> bytes:
    return _MINT + encode(["address", "uint256", "uint256"], [to, line_id, token_id])


def transfer_call(*, sender: str, to: str, token_id: int) -> bytes:
    return _TRANSFER + encode(["address", "address", "uint256"], [sender, to, token_id])


def owner_of_call(token_id: int) -> bytes:
    return _OWNER_OF + encode(["uint256"], [token_id])


def line_minted_call(line_id: int) -> bytes:
    return _LINE_MINTED + encode(["uint256"], [line_id])


def total_minted_call() -> bytes:
    return _TOTAL_MINTED


def token_uri_call(token_id: int) -> bytes:
    return _TOKEN_URI + encode(["uint256"], [token_id])


def has_role_call(role: bytes, account: str) -> bytes:
    return _HAS_ROLE + encode(["bytes32", "address"], [role, account])


def grant_role_call(role: bytes, account: str) -> bytes:
    return _GRANT_ROLE + encode(["bytes32", "address"], [role, account])


def royalty_info_call(token_id: int, sale_price: int) -> bytes:
    return _ROYALTY_INFO + encode(["uint256", "uint256"], [token_id, sale_price])


def balance_of_call(owner: str) -> bytes:
    return _BALANCE_OF + encode(["address"], [owner])


def redeem_call(token_id: int) -> bytes:
    return _REDEEM + encode(["uint256"], [token_id])


def is_redeemed_call(token_id: int) -> bytes:
    return _IS_REDEEMED + encode(["uint256"], [token_id])


def set_default_royalty_call(*, receiver: str, royalty_bps: int) -> bytes:
    """ERC-2981 receiver and rate for every token (the contract's DEFAULT_ADMIN_ROLE only)."""
    return _SET_DEFAULT_ROYALTY + encode(["address", "uint96"], [receiver, royalty_bps])


def decode_one(type_: str, data: bytes) -> Any:
    return decode([type_], data)[0]


def _topic_bytes(topic: Any) -> bytes:
    """A log topic as bytes, whether web3.py's HexBytes or a JSON-RPC 0x-hex string."""
    return bytes.fromhex(topic.removeprefix("0x")) if isinstance(topic, str) else bytes(topic)


def topic_address(topic: Any) -> str:
    """An indexed address from a log topic (32 bytes, left-padded)."""
    return checksum(_topic_bytes(topic)[-20:])


def topic_uint(topic: Any) -> int:
    return int.from_bytes(_topic_bytes(topic), "big")


@lru_cache(maxsize=4096)
def checksum(address: str | bytes) -> str:
    """EIP-55 form of an address (cached: the same few addresses recur in every block's logs)."""
    return str(to_checksum_address(address))
