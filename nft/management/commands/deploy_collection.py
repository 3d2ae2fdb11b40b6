"""`manage.py deploy_collection`: deploy a MintdropCollection signed by the minter and record it."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from nft.keys import signer_account
from nft.services.collections import deploy_collection


class Command(BaseCommand):
    help = "Deploy an ERC-721 collection (minter = NFT signer) and store its Collection row."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--royalty-bps", type=int, default=500, help="ERC-2981 royalty, basis points")
        parser.add_argument("--royalty-receiver", default=None, help="default: the signer")
        parser.add_argument("--base-uri", default=None, help="default: this site's metadata endpoint")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            collection = deploy_collection(
                name=options["name"],
                symbol=options["symbol"],
                royalty_receiver=options["royalty_receiver"] or signer_account().address,
                royalty_bps=options["royalty_bps"],
                base_uri=options["base_uri"],
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            f"deployed {collection.symbol} at {collection.address} on chain {collection.chain_id} "
            f"(tx {collection.deploy_tx_hash}, block {collection.deploy_block}); base URI {collection.base_uri}"
        )
