"""Fixtures for the chain layer: the real anvil that ops/ runs, a dedicated signer, a fresh collection."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from nft.chain import ChainClient, client
from nft.keys import anvil_account

# Anvil mnemonic indexes reserved for these tests (index 0 is other teams', 1 the dev signer).
SIGNER_INDEX = 2


@pytest.fixture
def chain() -> ChainClient:
    return client()


@pytest.fixture
def signer(settings: Any) -> LocalAccount:
    """Our minter key for the test: anvil account SIGNER_INDEX (a test may pick another)."""
    account = anvil_account(SIGNER_INDEX)
    settings.NFT_SIGNER_PRIVATE_KEY = "0x" + bytes(account.key).hex()
    return account


@pytest.fixture
def collection(signer: LocalAccount, transactional_db: None) -> Any:
    from nft.services.collections import deploy_collection

    return deploy_collection(
        name="Test Drops", symbol="TDROP", royalty_receiver=signer.address, royalty_bps=500
    )


def mine(chain: ChainClient, blocks: int = 1) -> None:
    for _ in range(blocks):
        chain.rpc("evm_mine", [])


@pytest.fixture
def confirm_until(chain: ChainClient) -> Callable[..., Any]:
    """Run confirmer rounds (mining empty blocks between them) until `done()` holds; bounded."""
    from nft.services.confirmer import confirm_blocks

    def run(done: Callable[[], bool], *, rounds: int = 60, mine_blocks: bool = True) -> None:
        for _ in range(rounds):
            confirm_blocks()
            if done():
                return
            if mine_blocks:
                mine(chain)
            else:
                time.sleep(0.1)
        raise AssertionError("condition not reached within the bounded number of confirmer rounds")

    return run


@pytest.fixture
def automine_guard(chain: ChainClient) -> Iterator[None]:
    """Whatever a test does to mining, automine is back on (and base fee sane) afterwards."""
    try:
        yield
    finally:
        chain.rpc("evm_setAutomine", [True])
        chain.rpc("anvil_setNextBlockBaseFeePerGas", [hex(1_000_000_000)])
        chain.rpc("evm_mine", [])
