"""Helpers for the wallet-watch tests: transactions signed by a wallet's own key, the ERC-20 fixture."""

import json
import time
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, keccak

from nft import contracts
from nft.chain import ChainClient

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_SET_APPROVAL_FOR_ALL = function_signature_to_4byte_selector("setApprovalForAll(address,bool)")
_ERC20_TRANSFER = function_signature_to_4byte_selector("transfer(address,uint256)")


def sign_tx(
    chain: ChainClient, account: LocalAccount, *, to: str | None, data: bytes, gas: int = 400_000
) -> bytes:
    """A signed EIP-1559 transaction of `account` with its next pending nonce (raw bytes)."""
    tx: dict[str, Any] = {
        "chainId": chain.chain_id(),
        "nonce": chain.nonce(account.address, "pending"),
        "gas": gas,
        "maxFeePerGas": 100 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "value": 0,
        "data": data,
        "type": 2,
    }
    if to is not None:
        tx["to"] = to
    return bytes(account.sign_transaction(tx).raw_transaction)


def send_raw_and_wait(chain: ChainClient, raw: bytes, *, rounds: int = 100) -> dict[str, Any]:
    """Send (or re-send) signed bytes and return the receipt once mined (automine); bounded wait."""
    outcome = chain.send_raw(raw)
    assert outcome.in_pool_or_chain, outcome
    tx_hash = "0x" + keccak(raw).hex()
    for _ in range(rounds):
        receipt = chain.get_receipt(tx_hash)
        if receipt is not None:
            assert int(receipt["status"]) == 1, receipt
            return receipt
        time.sleep(0.05)
    raise AssertionError(f"{tx_hash} not mined")


def send_as(chain: ChainClient, account: LocalAccount, *, to: str | None, data: bytes) -> dict[str, Any]:
    return send_raw_and_wait(chain, sign_tx(chain, account, to=to, data=data))


def mint_to(
    chain: ChainClient, signer: LocalAccount, collection: Any, *, to: str, token_id: int
) -> dict[str, Any]:
    """Mint directly from the minter key (the transaction manager is tested elsewhere)."""
    data = contracts.mint_call(to=to, line_id=token_id, token_id=token_id)
    return send_as(chain, signer, to=collection.address, data=data)


def transfer_nft(
    chain: ChainClient, owner: LocalAccount, collection: Any, *, to: str, token_id: int
) -> dict[str, Any]:
    data = contracts.transfer_call(sender=owner.address, to=to, token_id=token_id)
    return send_as(chain, owner, to=collection.address, data=data)


def approval_for_all_call(operator: str, approved: bool) -> bytes:
    return _SET_APPROVAL_FOR_ALL + encode(["address", "bool"], [operator, approved])


def erc20_transfer_call(to: str, amount: int) -> bytes:
    return _ERC20_TRANSFER + encode(["address", "uint256"], [to, amount])


def deploy_test_token(chain: ChainClient, deployer: LocalAccount, *, supply: int) -> str:
    """Deploy the fixture ERC-20 (tests/nft/fixtures/TestToken.sol, built by fixtures/compile.js)."""
    artifact = json.loads((FIXTURES / "build" / "TestToken.json").read_text())
    data = bytes.fromhex(artifact["bytecode"][2:]) + encode(["uint256"], [supply])
    receipt = send_raw_and_wait(chain, sign_tx(chain, deployer, to=None, data=data, gas=2_000_000))
    assert receipt["contractAddress"], receipt
    return str(receipt["contractAddress"])
