"""The direct EIP-1559 signer makes exactly the bytes eth-account makes, and anvil accepts them."""

import random
from typing import Any

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from nft.chain import ChainClient
from nft.eip1559 import sign_eip1559
from nft.keys import anvil_account


def _reference(account: Any, fields: dict[str, Any]) -> tuple[bytes, bytes]:
    tx = {
        "type": 2,
        "chainId": fields["chain_id"],
        "nonce": fields["nonce"],
        "gas": fields["gas"],
        "maxFeePerGas": fields["max_fee_per_gas"],
        "maxPriorityFeePerGas": fields["max_priority_fee_per_gas"],
        "value": fields["value"],
        "data": fields["data"],
    }
    if fields["to"]:
        tx["to"] = fields["to"]
    signed = account.sign_transaction(tx)
    return bytes(signed.raw_transaction), bytes(signed.hash)


def test_same_bytes_and_hash_as_eth_account_over_varied_fields() -> None:
    rng = random.Random(1559)
    for i in range(300):
        account = Account.from_key(rng.randbytes(32)) if i % 3 else anvil_account(i % 10)
        fields: dict[str, Any] = {
            "chain_id": rng.choice([1, 137, 31337, 2**40 + 7]),
            # zero, one byte, around the 55-byte RLP short/long boundary, and 32-byte values
            "nonce": rng.choice([0, 1, 127, 128, 255, 256, rng.randrange(2**64)]),
            "max_priority_fee_per_gas": rng.choice([0, 1, rng.randrange(2**40)]),
            "max_fee_per_gas": rng.choice([1, rng.randrange(2**64), 2**256 - 1]),
            "gas": rng.choice([21_000, 250_000, rng.randrange(1, 30_000_000)]),
            "to": rng.choice(["", to_checksum_address(rng.randbytes(20))]),
            "value": rng.choice([0, 1, rng.randrange(2**128)]),
            "data": rng.randbytes(rng.choice([0, 1, 55, 56, 68, 100, 1000, 70_000])),
        }
        raw, tx_hash = _reference(account, fields)
        ours = sign_eip1559(private_key=bytes(account.key), **fields)
        assert ours.raw_transaction == raw, fields
        assert ours.hash == tx_hash
        # and the signature recovers the signer
        assert Account.recover_transaction(ours.raw_transaction) == account.address


def test_bad_fields_are_refused() -> None:
    key = bytes(anvil_account(3).key)
    base: dict[str, Any] = {
        "chain_id": 31337,
        "nonce": 0,
        "max_priority_fee_per_gas": 1,
        "max_fee_per_gas": 2,
        "gas": 21_000,
        "to": "0x" + "11" * 20,
        "value": 0,
        "data": b"",
    }
    with pytest.raises(ValueError):
        sign_eip1559(private_key=key, **(base | {"nonce": -1}))
    with pytest.raises(ValueError):
        sign_eip1559(private_key=key, **(base | {"to": "0x1234"}))
    with pytest.raises(ValueError):
        sign_eip1559(private_key=key[:31], **base)


@pytest.mark.integration
def test_anvil_mines_a_transfer_signed_directly(chain: ChainClient, automine_guard: None) -> None:
    # fresh accounts (funded by anvil itself): no nonce or balance shared with a parallel test
    rng = random.Random()
    sender, receiver = Account.from_key(rng.randbytes(32)), Account.from_key(rng.randbytes(32))
    chain.rpc("anvil_setBalance", [sender.address, hex(10**18)])
    before = chain.balance(receiver.address)
    base_fee = chain.base_fee()
    signed = sign_eip1559(
        private_key=bytes(sender.key),
        chain_id=chain.chain_id(),
        nonce=chain.nonce(sender.address, "pending"),
        max_priority_fee_per_gas=10**9,
        max_fee_per_gas=2 * base_fee + 10**9,
        gas=21_000,
        to=receiver.address,
        value=12345,
        data=b"",
    )
    assert chain.send_raw(signed.raw_transaction).in_pool_or_chain
    receipt = chain.get_receipt("0x" + signed.hash.hex())
    if receipt is None:  # the shared anvil may be interval mining: wait for the block
        chain.rpc("evm_mine", [])
        receipt = chain.get_receipt("0x" + signed.hash.hex())
    assert receipt is not None and receipt["status"] == 1
    assert chain.balance(receiver.address) == before + 12345
