"""The key store: the one place the platform's signing keys come from (minter + custodial wallets).

Two stores, chosen by configuration:

- `EncryptedFileKeyStore` (NFT_KEYSTORE_PATH set): one file holding the minter's private key and the
  custody mnemonic, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).
  The encryption key comes from NFT_KEYSTORE_KEY (environment) or NFT_KEYSTORE_KEY_FILE (a file),
  never from the repository or the key file itself. Several comma-separated keys may be given during a
  rotation: the first encrypts, any of them decrypts (`manage.py keystore rotate` re-encrypts).
- `EnvKeyStore` (otherwise): the keys in the environment as before (NFT_SIGNER_PRIVATE_KEY or an
  Ethereum keystore JSON, NFT_CUSTODY_MNEMONIC), and on the local anvil chain only, anvil's public
  test mnemonic, so `make dev` and the tests need no secret.

`nft.keys` answers every "which account signs for this address" question through `keystore()`.
"""

import json
import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from eth_account import Account
from eth_account.signers.local import LocalAccount

from nft.errors import KeyStoreLocked, SignerNotConfigured

Account.enable_unaudited_hdwallet_features()

ANVIL_CHAIN_ID = 31337
# Public, published test mnemonic of anvil/hardhat; refused on any other chain.
ANVIL_PUBLIC_MNEMONIC = "test test test test test test test test test test test junk"
DEV_SIGNER_INDEX = 1
CUSTODY_PATH = "m/44'/60'/1'/0/{index}"
# Extra minters of the signer pool (member 0 is the minter key itself), account 2': never a custody
# wallet, never one of a dev mnemonic's pre-funded accounts (the pool is funded by the minter).
SIGNER_POOL_PATH = "m/44'/60'/2'/0/{index}"
FILE_FORMAT = "mintdrop-keystore/1"


@dataclass(frozen=True)
class Secrets:
    """What a key store holds; either part may be absent."""

    signer_private_key: str = ""
    custody_mnemonic: str = ""
    signer_pool_mnemonic: str = ""


class KeyStore(ABC):
    """Hands out signing accounts; callers never see where or how the keys are kept."""

    @abstractmethod
    def secrets(self) -> Secrets: ...

    def signer(self) -> LocalAccount:
        """The minter account that signs mints, deployments and gas top-ups."""
        key = self.secrets().signer_private_key
        if key:
            return _account_from_key(key)
        if _dev_chain():
            return _derive(ANVIL_PUBLIC_MNEMONIC, f"m/44'/60'/0'/0/{DEV_SIGNER_INDEX}")
        raise SignerNotConfigured(f"no minter key in the {self.describe()}")

    def custodial(self, index: int) -> LocalAccount:
        """Custodial wallet number `index`, derived from the custody mnemonic (never stored)."""
        mnemonic = self.secrets().custody_mnemonic
        if not mnemonic:
            if not _dev_chain():
                raise SignerNotConfigured(f"no custody mnemonic in the {self.describe()}")
            mnemonic = ANVIL_PUBLIC_MNEMONIC
        return _derive(mnemonic, CUSTODY_PATH.format(index=index))

    def signer_pool(self, size: int) -> list[LocalAccount]:
        """`size` minters used in parallel: the minter, then accounts derived from the pool mnemonic.

        Each has its own nonce lane (its own SenderAccount row). Size 1 is the minter alone.
        """
        pool = [self.signer()]
        if size <= 1:
            return pool
        mnemonic = self.secrets().signer_pool_mnemonic
        if not mnemonic:
            if not _dev_chain():
                raise SignerNotConfigured(
                    f"NFT_SIGNER_POOL_SIZE={size} needs a signer pool mnemonic in the {self.describe()}"
                )
            mnemonic = ANVIL_PUBLIC_MNEMONIC
        return pool + [_derive(mnemonic, SIGNER_POOL_PATH.format(index=i)) for i in range(1, size)]

    @abstractmethod
    def describe(self) -> str: ...


class EnvKeyStore(KeyStore):
    """Keys from environment settings (or an Ethereum keystore JSON for the minter)."""

    def secrets(self) -> Secrets:
        key = str(settings.NFT_SIGNER_PRIVATE_KEY or "")
        if not key and settings.NFT_SIGNER_KEYSTORE:
            key = _key_from_eth_keystore(settings.NFT_SIGNER_KEYSTORE, settings.NFT_SIGNER_KEYSTORE_PASSWORD)
        return Secrets(
            signer_private_key=key,
            custody_mnemonic=str(settings.NFT_CUSTODY_MNEMONIC or ""),
            signer_pool_mnemonic=str(settings.NFT_SIGNER_POOL_MNEMONIC or ""),
        )

    def describe(self) -> str:
        return "environment (NFT_SIGNER_PRIVATE_KEY / NFT_CUSTODY_MNEMONIC)"


class EncryptedFileKeyStore(KeyStore):
    """Keys in one Fernet-encrypted file; the encryption key(s) come from elsewhere."""

    def __init__(self, path: str | Path, keys: list[str]) -> None:
        self.path = Path(path)
        self.keys = [k.strip() for k in keys if k.strip()]

    def describe(self) -> str:
        return f"key store {self.path}"

    def secrets(self) -> Secrets:
        if not self.keys:
            raise KeyStoreLocked(
                f"{self.describe()} is encrypted: set NFT_KEYSTORE_KEY or NFT_KEYSTORE_KEY_FILE to open it"
            )
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise KeyStoreLocked(f"{self.describe()} does not exist") from None
        return _decrypt_file(str(self.path), stat.st_mtime_ns, stat.st_size, tuple(self.keys))

    def write(self, secrets: Secrets) -> None:
        """Encrypt `secrets` with the first key and replace the file atomically (mode 0600)."""
        if not self.keys:
            raise KeyStoreLocked("no encryption key given (NFT_KEYSTORE_KEY or NFT_KEYSTORE_KEY_FILE)")
        plain = json.dumps(
            {
                "format": FILE_FORMAT,
                "signer_private_key": secrets.signer_private_key,
                "custody_mnemonic": secrets.custody_mnemonic,
                "signer_pool_mnemonic": secrets.signer_pool_mnemonic,
            }
        ).encode()
        token = _fernet(tuple(self.keys)).encrypt(plain)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, token + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)  # a crash leaves the old file or the new one, never half of one

    def rotate(self, new_key: str) -> None:
        """Re-encrypt the file with `new_key`; afterwards only `new_key` opens it."""
        secrets = self.secrets()  # proves the current key works before anything is written
        EncryptedFileKeyStore(self.path, [new_key]).write(secrets)


def new_key() -> str:
    """A fresh random Fernet key (urlsafe base64 of 32 bytes)."""
    return Fernet.generate_key().decode()


def configured_keys() -> list[str]:
    """The encryption key(s) from NFT_KEYSTORE_KEY, else from the file NFT_KEYSTORE_KEY_FILE."""
    if settings.NFT_KEYSTORE_KEY:
        return str(settings.NFT_KEYSTORE_KEY).split(",")
    if settings.NFT_KEYSTORE_KEY_FILE:
        try:
            return Path(settings.NFT_KEYSTORE_KEY_FILE).read_text().split(",")
        except OSError as exc:
            raise KeyStoreLocked(f"cannot read NFT_KEYSTORE_KEY_FILE: {exc.strerror}") from None
    return []


def keystore() -> KeyStore:
    """The configured key store (read per call, so settings changed by tests take effect)."""
    if settings.NFT_KEYSTORE_PATH:
        return EncryptedFileKeyStore(settings.NFT_KEYSTORE_PATH, configured_keys())
    return EnvKeyStore()


def _dev_chain() -> bool:
    return int(settings.CHAIN_ID) == ANVIL_CHAIN_ID


def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except (ValueError, TypeError):
        raise KeyStoreLocked(
            "the key store key is malformed: expected 32 url-safe base64 bytes (`manage.py keystore genkey`)"
        ) from None


@cache
def _decrypt_file(path: str, mtime_ns: int, size: int, keys: tuple[str, ...]) -> Secrets:
    # Keyed by mtime and size too, so a rotated or replaced file is read again.
    try:
        plain = _fernet(keys).decrypt(Path(path).read_bytes().strip())
    except InvalidToken:
        raise KeyStoreLocked(
            f"key store {path} cannot be decrypted with the configured key "
            "(wrong NFT_KEYSTORE_KEY, or the file was altered)"
        ) from None
    data = json.loads(plain)
    if data.get("format") != FILE_FORMAT:
        raise KeyStoreLocked(f"key store {path} has an unknown format {data.get('format')!r}")
    return Secrets(
        signer_private_key=str(data.get("signer_private_key") or ""),
        custody_mnemonic=str(data.get("custody_mnemonic") or ""),
        signer_pool_mnemonic=str(data.get("signer_pool_mnemonic") or ""),
    )


@cache
def _account_from_key(private_key: str) -> LocalAccount:
    return Account.from_key(private_key)


@cache
def _derive(mnemonic: str, path: str) -> LocalAccount:
    return Account.from_mnemonic(mnemonic, account_path=path)


@cache
def _key_from_eth_keystore(path: str, password: str) -> str:
    keyfile = json.loads(Path(path).read_text())
    return "0x" + bytes(Account.decrypt(keyfile, password)).hex()
