"""EIP-1559 (type 2) transactions encoded and signed directly with coincurve.

The same bytes eth-account's `sign_transaction` makes (RFC 6979 deterministic, low-s signatures
from libsecp256k1, as eth-keys' coincurve backend produces; tests/nft/test_eip1559.py compares the
two on many inputs), at about a fifth of the CPU: eth-account builds and validates a typed
transaction object through several layers of Python for every signature. Signing is the part of
minting that runs under a lane's nonce lock, so its cost bounds one signer's throughput.
"""

from dataclasses import dataclass
from functools import lru_cache

import coincurve
import rlp
from eth_utils import keccak

TYPE_2 = b"\x02"


@dataclass(frozen=True)
class SignedTransaction:
    raw_transaction: bytes
    hash: bytes


@lru_cache(maxsize=1024)
def _private_key(secret: bytes) -> coincurve.PrivateKey:
    return coincurve.PrivateKey(secret)


def sign_eip1559(
    *,
    private_key: bytes,
    chain_id: int,
    nonce: int,
    max_priority_fee_per_gas: int,
    max_fee_per_gas: int,
    gas: int,
    to: str,
    value: int,
    data: bytes,
) -> SignedTransaction:
    """Sign a type-2 transaction with an empty access list (`to` "" for a contract creation)."""
    if min(chain_id, nonce, max_priority_fee_per_gas, max_fee_per_gas, gas, value) < 0:
        raise ValueError("transaction fields must not be negative")
    if len(private_key) != 32:
        raise ValueError("a private key is 32 bytes")
    recipient = bytes.fromhex(to.removeprefix("0x")) if to else b""
    if len(recipient) not in (0, 20):
        raise ValueError(f"not an address: {to!r}")
    fields = [
        chain_id,
        nonce,
        max_priority_fee_per_gas,
        max_fee_per_gas,
        gas,
        recipient,
        value,
        bytes(data),
        [],  # access list
    ]
    signing_hash = keccak(TYPE_2 + rlp.encode(fields))
    signature = _private_key(bytes(private_key)).sign_recoverable(signing_hash, hasher=None)
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    y_parity = signature[64]
    raw = TYPE_2 + rlp.encode([*fields, y_parity, r, s])
    return SignedTransaction(raw_transaction=raw, hash=keccak(raw))
