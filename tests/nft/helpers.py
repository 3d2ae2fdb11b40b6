"""Shared helpers for the nft tests: on-chain reads and subprocesses that share the test database."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.db import connection
from eth_utils import to_checksum_address

from nft import contracts
from nft.chain import ChainClient

REPO = Path(__file__).resolve().parents[2]
BUYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def owner_of(chain: ChainClient, collection: Any, token_id: int) -> str:
    data = chain.call(collection.address, contracts.owner_of_call(token_id))
    return to_checksum_address(contracts.decode_one("address", data))


def total_minted(chain: ChainClient, collection: Any) -> int:
    return int(contracts.decode_one("uint256", chain.call(collection.address, contracts.total_minted_call())))


def line_minted(chain: ChainClient, collection: Any, line_id: int) -> bool:
    return bool(
        contracts.decode_one("bool", chain.call(collection.address, contracts.line_minted_call(line_id)))
    )


def subprocess_env(settings: Any, **extra: str) -> dict[str, str]:
    """Environment for a child process that must see this test's database and signer."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        NFT_SIGNER_PRIVATE_KEY=settings.NFT_SIGNER_PRIVATE_KEY,
        CHAIN_CONFIRMATIONS=str(settings.CHAIN_CONFIRMATIONS),
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def run_python(code: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `code` after django.setup() in a fresh interpreter (a separate worker process)."""
    prelude = "import django; django.setup()\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def send_as(chain: ChainClient, account: Any, to: str, data: bytes, gas: int = 200_000) -> dict[str, Any]:
    """Sign `data` to `to` with a test account (a shopper's own wallet), send it, return its receipt."""
    import time

    fee = chain.base_fee()
    signed = account.sign_transaction(
        {
            "type": 2,
            "chainId": chain.chain_id(),
            "nonce": chain.nonce(account.address, "pending"),
            "gas": gas,
            "maxFeePerGas": fee * 2 + 10**9,
            "maxPriorityFeePerGas": 10**9,
            "to": to,
            "value": 0,
            "data": data,
        }
    )
    outcome = chain.send_raw(bytes(signed.raw_transaction))
    assert outcome.in_pool_or_chain, outcome
    tx_hash = "0x" + bytes(signed.hash).hex()
    for _ in range(100):
        receipt = chain.get_receipt(tx_hash)
        if receipt is not None:
            return receipt | {"transactionHash": tx_hash}
        time.sleep(0.05)
    raise AssertionError(f"{tx_hash} not mined")


def is_redeemed(chain: ChainClient, collection: Any, token_id: int) -> bool:
    """`isRedeemed(tokenId)` read with eth_call."""
    data = chain.call(collection.address, contracts.is_redeemed_call(token_id))
    return bool(contracts.decode_one("bool", data))
