"""Where private keys come from: the environment (or a keystore file), never the repository.

- The minter/signer key: NFT_SIGNER_PRIVATE_KEY, or NFT_SIGNER_KEYSTORE + NFT_SIGNER_KEYSTORE_PASSWORD.
- Shoppers' custodial wallets: derived from NFT_CUSTODY_MNEMONIC on path m/44'/60'/1'/0/<index>
  (account 1', so they never coincide with the usual funded accounts of a dev mnemonic).

Only on the local anvil chain (CHAIN_ID 31337) do both fall back to anvil's PUBLIC test mnemonic,
which every developer knows: signer = index 1 of m/44'/60'/0'/0 (index 0 is left to other tools).
"""

import json
from functools import cache
from pathlib import Path

from django.conf import settings
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from nft.errors import SignerNotConfigured

Account.enable_unaudited_hdwallet_features()

ANVIL_CHAIN_ID = 31337
# Public, published test mnemonic of anvil/hardhat; refused on any other chain.
ANVIL_PUBLIC_MNEMONIC = "test test test test test test test test test test test junk"
DEV_SIGNER_INDEX = 1
CUSTODY_PATH = "m/44'/60'/1'/0/{index}"


def _dev_chain() -> bool:
    return int(settings.CHAIN_ID) == ANVIL_CHAIN_ID


@cache
def _account_from_key(private_key: str) -> LocalAccount:
    return Account.from_key(private_key)


def anvil_account(index: int) -> LocalAccount:
    """Account `index` of anvil's public test mnemonic (local chain and tests only)."""
    return _derive(ANVIL_PUBLIC_MNEMONIC, f"m/44'/60'/0'/0/{index}")


@cache
def _derive(mnemonic: str, path: str) -> LocalAccount:
    return Account.from_mnemonic(mnemonic, account_path=path)


def signer_account() -> LocalAccount:
    """The minter account that signs mints and deployments."""
    if settings.NFT_SIGNER_PRIVATE_KEY:
        return _account_from_key(settings.NFT_SIGNER_PRIVATE_KEY)
    if settings.NFT_SIGNER_KEYSTORE:
        return _account_from_keystore(settings.NFT_SIGNER_KEYSTORE, settings.NFT_SIGNER_KEYSTORE_PASSWORD)
    if _dev_chain():
        return anvil_account(DEV_SIGNER_INDEX)
    raise SignerNotConfigured("set NFT_SIGNER_PRIVATE_KEY or NFT_SIGNER_KEYSTORE")


@cache
def _account_from_keystore(path: str, password: str) -> LocalAccount:
    keyfile = json.loads(Path(path).read_text())
    return Account.from_key(Account.decrypt(keyfile, password))


def _custody_mnemonic() -> str:
    if settings.NFT_CUSTODY_MNEMONIC:
        return str(settings.NFT_CUSTODY_MNEMONIC)
    if _dev_chain():
        return ANVIL_PUBLIC_MNEMONIC
    raise SignerNotConfigured("set NFT_CUSTODY_MNEMONIC")


def custodial_account(index: int) -> LocalAccount:
    """The custodial wallet number `index` (derived; the key is never stored)."""
    return _derive(_custody_mnemonic(), CUSTODY_PATH.format(index=index))


def account_for(address: str, *, custody_index: int | None = None) -> LocalAccount:
    """The local account that signs for `address`: the signer, or a custodial wallet."""
    address = to_checksum_address(address)
    signer = signer_account()
    if signer.address == address:
        return signer
    if custody_index is not None:
        account = custodial_account(custody_index)
        if account.address == address:
            return account
    raise SignerNotConfigured(f"no key for {address}")
