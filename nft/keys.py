"""Which account signs for an address: every key comes from the key store (`nft.keystore`).

- The minter/signer key and the custody mnemonic (shoppers' custodial wallets, derived on path
  m/44'/60'/1'/0/<index>, account 1', so they never coincide with a dev mnemonic's funded accounts)
  live in the configured key store: an encrypted file (NFT_KEYSTORE_PATH + NFT_KEYSTORE_KEY[_FILE])
  or the environment (NFT_SIGNER_PRIVATE_KEY / NFT_SIGNER_KEYSTORE, NFT_CUSTODY_MNEMONIC).
- Only on the local anvil chain (CHAIN_ID 31337) do both fall back to anvil's PUBLIC test mnemonic,
  which every developer knows: signer = index 1 of m/44'/60'/0'/0 (index 0 is left to other tools).
"""

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from nft.errors import SignerNotConfigured
from nft.keystore import (
    ANVIL_CHAIN_ID,
    ANVIL_PUBLIC_MNEMONIC,
    CUSTODY_PATH,
    DEV_SIGNER_INDEX,
    _derive,
    keystore,
)

__all__ = [
    "ANVIL_CHAIN_ID",
    "ANVIL_PUBLIC_MNEMONIC",
    "CUSTODY_PATH",
    "DEV_SIGNER_INDEX",
    "account_for",
    "anvil_account",
    "custodial_account",
    "signer_account",
]


def anvil_account(index: int) -> LocalAccount:
    """Account `index` of anvil's public test mnemonic (local chain, tests and benches: not a platform key)."""
    return _derive(ANVIL_PUBLIC_MNEMONIC, f"m/44'/60'/0'/0/{index}")


def signer_account() -> LocalAccount:
    """The minter account that signs mints and deployments."""
    return keystore().signer()


def custodial_account(index: int) -> LocalAccount:
    """The custodial wallet number `index` (derived; the key is never stored)."""
    return keystore().custodial(index)


def account_for(address: str, *, custody_index: int | None = None) -> LocalAccount:
    """The local account that signs for `address`: the signer, or a custodial wallet."""
    address = to_checksum_address(address)
    store = keystore()
    signer = store.signer()
    if signer.address == address:
        return signer
    if custody_index is not None:
        account = store.custodial(custody_index)
        if account.address == address:
            return account
    raise SignerNotConfigured(f"no key for {address}")
