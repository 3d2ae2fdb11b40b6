"""`manage.py keystore`: create, inspect and rotate the encrypted key store (nft/keystore.py).

Secrets are read from the environment or files, never from the command line (which `ps` shows):

    manage.py keystore genkey > /secure/keystore.key            # a new encryption key
    NFT_KEYSTORE_KEY_FILE=/secure/keystore.key \\
    NFT_SIGNER_PRIVATE_KEY=0x... NFT_CUSTODY_MNEMONIC="..." \\
      manage.py keystore create --path /secure/keys.enc          # encrypt today's env keys into a file
    manage.py keystore show                                      # addresses only, never keys
    manage.py keystore genkey > /secure/keystore.key.new
    manage.py keystore rotate --new-key-file /secure/keystore.key.new
                                                                 # re-encrypt; then point
                                                                 # NFT_KEYSTORE_KEY_FILE at the new key
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from nft.keystore import EncryptedFileKeyStore, EnvKeyStore, configured_keys, keystore, new_key


class Command(BaseCommand):
    help = "Create (from the environment's keys), show or rotate the encrypted key store."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("genkey", help="print a new random encryption key")
        create = sub.add_parser("create", help="encrypt NFT_SIGNER_PRIVATE_KEY + NFT_CUSTODY_MNEMONIC")
        create.add_argument("--path", default=None, help="default: NFT_KEYSTORE_PATH")
        create.add_argument("--force", action="store_true", help="overwrite an existing file")
        sub.add_parser("show", help="print the minter and first custodial addresses (no keys)")
        rotate = sub.add_parser("rotate", help="re-encrypt the file with a new key")
        rotate.add_argument("--new-key-file", required=True, help="file holding the new key")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from None

    def _genkey(self, options: dict[str, Any]) -> None:
        self.stdout.write(new_key())

    def _create(self, options: dict[str, Any]) -> None:
        path = Path(options["path"] or settings.NFT_KEYSTORE_PATH or "")
        if not str(path) or str(path) == ".":
            raise CommandError("give --path or set NFT_KEYSTORE_PATH")
        if path.exists() and not options["force"]:
            raise CommandError(f"{path} exists (use --force to overwrite, or `rotate` to re-encrypt it)")
        secrets = EnvKeyStore().secrets()
        if not secrets.signer_private_key or not secrets.custody_mnemonic:
            raise CommandError("set NFT_SIGNER_PRIVATE_KEY (or NFT_SIGNER_KEYSTORE) and NFT_CUSTODY_MNEMONIC")
        store = EncryptedFileKeyStore(path, configured_keys())
        store.write(secrets)
        self.stdout.write(f"wrote {path} (minter {store.signer().address}); now unset the plain keys")

    def _show(self, options: dict[str, Any]) -> None:
        store = keystore()
        self.stdout.write(f"store:      {store.describe()}")
        self.stdout.write(f"minter:     {store.signer().address}")
        self.stdout.write(f"custodial0: {store.custodial(0).address}")
        size = max(1, int(settings.NFT_SIGNER_POOL_SIZE))
        if size > 1:
            pool = ", ".join(a.address for a in store.signer_pool(size)[1:])
            self.stdout.write(f"pool:       {pool} (NFT_SIGNER_POOL_SIZE={size}, with the minter)")

    def _rotate(self, options: dict[str, Any]) -> None:
        store = keystore()
        if not isinstance(store, EncryptedFileKeyStore):
            raise CommandError("NFT_KEYSTORE_PATH is not set: there is no encrypted file to rotate")
        fresh = Path(options["new_key_file"]).read_text().strip()
        store.rotate(fresh)
        self.stdout.write(
            f"re-encrypted {store.path} with the new key; set NFT_KEYSTORE_KEY_FILE to "
            f"{options['new_key_file']} (or NFT_KEYSTORE_KEY) and restart every process"
        )
