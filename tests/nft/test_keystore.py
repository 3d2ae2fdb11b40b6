"""The encrypted key store: unreadable without its key, clear errors, rotation, and signing goes through it."""

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from eth_account import Account

from nft import keys
from nft.errors import KeyStoreLocked, SignerNotConfigured
from nft.keystore import EncryptedFileKeyStore, Secrets, new_key

# A throwaway key and mnemonic made for this test file (not anvil's): what the store must protect.
PRIVATE_KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"


@pytest.fixture
def keyfile(tmp_path: Path) -> tuple[Path, str]:
    key = new_key()
    path = tmp_path / "keys.enc"
    EncryptedFileKeyStore(path, [key]).write(
        Secrets(signer_private_key=PRIVATE_KEY, custody_mnemonic=MNEMONIC)
    )
    return path, key


def test_the_file_holds_no_key_in_the_clear(keyfile: tuple[Path, str]) -> None:
    path, _ = keyfile
    raw = path.read_bytes()
    assert PRIVATE_KEY[2:].encode() not in raw
    assert b"abandon" not in raw
    assert Account.from_key(PRIVATE_KEY).address.encode() not in raw
    assert path.stat().st_mode & 0o077 == 0  # owner-only


def test_without_its_key_the_file_is_unreadable(keyfile: tuple[Path, str]) -> None:
    path, _ = keyfile
    with pytest.raises(KeyStoreLocked, match="set NFT_KEYSTORE_KEY"):
        EncryptedFileKeyStore(path, []).signer()


def test_a_wrong_key_is_a_clear_error(keyfile: tuple[Path, str]) -> None:
    path, _ = keyfile
    with pytest.raises(KeyStoreLocked, match="cannot be decrypted with the configured key"):
        EncryptedFileKeyStore(path, [new_key()]).signer()
    with pytest.raises(KeyStoreLocked, match="malformed"):
        EncryptedFileKeyStore(path, ["not-a-fernet-key"]).signer()


def test_an_altered_file_is_refused(keyfile: tuple[Path, str]) -> None:
    path, key = keyfile
    raw = bytearray(path.read_bytes())
    raw[40] = ord("A") if raw[40] != ord("A") else ord("B")
    path.write_bytes(bytes(raw))
    with pytest.raises(KeyStoreLocked, match="altered"):
        EncryptedFileKeyStore(path, [key]).signer()


def test_the_right_key_opens_it(keyfile: tuple[Path, str]) -> None:
    path, key = keyfile
    store = EncryptedFileKeyStore(path, [key])
    assert store.signer().address == Account.from_key(PRIVATE_KEY).address
    expected = Account.from_mnemonic(MNEMONIC, account_path="m/44'/60'/1'/0/3").address
    assert store.custodial(3).address == expected


def test_rotation_re_encrypts_with_the_new_key_only(keyfile: tuple[Path, str], tmp_path: Path) -> None:
    path, old = keyfile
    before = path.read_bytes()
    fresh = new_key()
    EncryptedFileKeyStore(path, [old]).rotate(fresh)
    assert path.read_bytes() != before
    with pytest.raises(KeyStoreLocked):
        EncryptedFileKeyStore(path, [old]).signer()
    assert EncryptedFileKeyStore(path, [fresh]).signer().address == Account.from_key(PRIVATE_KEY).address
    # During a rotation both keys may be configured: whichever encrypted the file opens it.
    assert EncryptedFileKeyStore(path, [old, fresh]).signer().address == Account.from_key(PRIVATE_KEY).address


def test_rotation_with_a_wrong_current_key_writes_nothing(keyfile: tuple[Path, str]) -> None:
    path, _ = keyfile
    before = path.read_bytes()
    with pytest.raises(KeyStoreLocked):
        EncryptedFileKeyStore(path, [new_key()]).rotate(new_key())
    assert path.read_bytes() == before


def test_every_signing_account_comes_from_the_configured_store(
    keyfile: tuple[Path, str], settings: Any
) -> None:
    path, key = keyfile
    settings.NFT_SIGNER_PRIVATE_KEY = "0x" + "11" * 32  # the env key must be ignored once a file is set
    settings.NFT_KEYSTORE_PATH = str(path)
    settings.NFT_KEYSTORE_KEY = key
    signer = Account.from_key(PRIVATE_KEY).address
    assert keys.signer_account().address == signer
    assert keys.account_for(signer).address == signer
    custodial = keys.custodial_account(0).address
    assert keys.account_for(custodial, custody_index=0).address == custodial
    settings.NFT_KEYSTORE_KEY = new_key()
    with pytest.raises(KeyStoreLocked):
        keys.signer_account()


def test_the_signer_pool_comes_from_the_store_and_signs_for_its_members(
    tmp_path: Path, settings: Any
) -> None:
    key = new_key()
    path = tmp_path / "pool.enc"
    pool_mnemonic = "legal winner thank year wave sausage worth useful legal winner thank yellow"
    EncryptedFileKeyStore(path, [key]).write(
        Secrets(signer_private_key=PRIVATE_KEY, custody_mnemonic=MNEMONIC, signer_pool_mnemonic=pool_mnemonic)
    )
    assert b"legal" not in path.read_bytes()
    settings.NFT_KEYSTORE_PATH, settings.NFT_KEYSTORE_KEY = str(path), key
    settings.NFT_SIGNER_POOL_SIZE = 3
    pool = keys.signer_pool()
    assert [a.address for a in pool] == [
        Account.from_key(PRIVATE_KEY).address,
        Account.from_mnemonic(pool_mnemonic, account_path="m/44'/60'/2'/0/1").address,
        Account.from_mnemonic(pool_mnemonic, account_path="m/44'/60'/2'/0/2").address,
    ]
    assert keys.account_for(pool[2].address).address == pool[2].address
    settings.NFT_SIGNER_POOL_SIZE = 1
    assert [a.address for a in keys.signer_pool()] == [pool[0].address]
    with pytest.raises(SignerNotConfigured):  # a member outside the configured pool has no key here
        keys.account_for(pool[2].address)


def test_a_pool_on_a_public_chain_needs_its_own_mnemonic(settings: Any) -> None:
    settings.NFT_KEYSTORE_PATH = ""
    settings.NFT_SIGNER_PRIVATE_KEY = PRIVATE_KEY
    settings.NFT_SIGNER_POOL_MNEMONIC = ""
    settings.CHAIN_ID = 1
    settings.NFT_SIGNER_POOL_SIZE = 2
    with pytest.raises(SignerNotConfigured, match="signer pool mnemonic"):
        keys.signer_pool()
    settings.NFT_SIGNER_POOL_SIZE = 1  # the minter alone needs nothing more
    assert [a.address for a in keys.signer_pool()] == [Account.from_key(PRIVATE_KEY).address]


def test_dev_without_a_file_keeps_the_anvil_fallback(settings: Any) -> None:
    settings.NFT_KEYSTORE_PATH = ""
    settings.NFT_SIGNER_PRIVATE_KEY = ""
    settings.NFT_SIGNER_KEYSTORE = ""
    settings.CHAIN_ID = 31337
    assert keys.signer_account().address == keys.anvil_account(keys.DEV_SIGNER_INDEX).address


def test_commands_create_show_and_rotate(tmp_path: Path, settings: Any) -> None:
    key_file = tmp_path / "k1"
    out = io.StringIO()
    call_command("keystore", "genkey", stdout=out)
    key_file.write_text(out.getvalue().strip())
    settings.NFT_SIGNER_PRIVATE_KEY = PRIVATE_KEY
    settings.NFT_CUSTODY_MNEMONIC = MNEMONIC
    settings.NFT_KEYSTORE_KEY = ""
    settings.NFT_KEYSTORE_KEY_FILE = str(key_file)
    store_path = tmp_path / "keys.enc"
    call_command("keystore", "create", "--path", str(store_path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="exists"):
        call_command("keystore", "create", "--path", str(store_path), stdout=io.StringIO())
    settings.NFT_KEYSTORE_PATH = str(store_path)
    settings.NFT_SIGNER_PRIVATE_KEY = ""
    settings.NFT_CUSTODY_MNEMONIC = ""
    shown = io.StringIO()
    call_command("keystore", "show", stdout=shown)
    assert Account.from_key(PRIVATE_KEY).address in shown.getvalue()
    assert PRIVATE_KEY[2:] not in shown.getvalue()
    new_file = tmp_path / "k2"
    new_file.write_text(new_key())
    call_command("keystore", "rotate", "--new-key-file", str(new_file), stdout=io.StringIO())
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("keystore", "show", stdout=io.StringIO())
    settings.NFT_KEYSTORE_KEY_FILE = str(new_file)
    assert keys.signer_account().address == Account.from_key(PRIVATE_KEY).address
