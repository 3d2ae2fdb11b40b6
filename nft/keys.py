"""Which account signs for an address: every key comes from the key store (`nft.keystore`).

- The minter/signer key and the custody mnemonic (shoppers' custodial wallets, derived on path
  m/44'/60'/1'/0/<index>, account 1', so they never coincide with a dev mnemonic's funded accounts)
  live in the configured key store: an encrypted file (NFT_KEYSTORE_PATH + NFT_KEYSTORE_KEY[_FILE])
  or the environment (NFT_SIGNER_PRIVATE_KEY / NFT_SIGNER_KEYSTORE, NFT_CUSTODY_MNEMONIC).
- The signer pool (NFT_SIGNER_POOL_SIZE > 1): the minter plus accounts derived from the pool
  mnemonic (NFT_SIGNER_POOL_MNEMONIC or the key store file) on m/44'/60'/2'/0/<i>, each minting in
  parallel on its own nonce lane; on anvil the pool mnemonic falls back to the public one.
- Only on the local anvil chain (CHAIN_ID 31337) do both fall back to anvil's PUBLIC test mnemonic,
  which every developer knows: signer = index 1 of m/44'/60'/0'/0 (index 0 is left to other tools).
"""

from django.conf import settings
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
    "signer_pool",
]


def anvil_account(index: int) -> LocalAccount:
    """Account `index` of anvil's public test mnemonic (local chain, tests and benches: not a platform key)."""
    return _derive(ANVIL_PUBLIC_MNEMONIC, f"m/44'/60'/0'/0/{index}")


def signer_account() -> LocalAccount:
    """The minter account that signs mints and deployments."""
    return keystore().signer()


def signer_pool() -> list[LocalAccount]:
    """The minters used in parallel (NFT_SIGNER_POOL_SIZE of them; the first is `signer_account()`)."""
    return keystore().signer_pool(max(1, int(settings.NFT_SIGNER_POOL_SIZE)))


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
    for member in signer_pool()[1:]:
        if member.address == address:
            return member
    if custody_index is not None:
        account = store.custodial(custody_index)
        if account.address == address:
            return account
    raise SignerNotConfigured(f"no key for {address}")
