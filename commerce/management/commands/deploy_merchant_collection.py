"""`manage.py deploy_merchant_collection`: deploy a merchant's collection, royalties to its payout address."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from commerce.models import Merchant
from commerce.services.collections import deploy_merchant_collection, set_payout_address
from config.errors import ApplicationError


class Command(BaseCommand):
    help = "Deploy an ERC-721 collection for a merchant (ERC-2981 royalties to its payout address)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--merchant", required=True, help="merchant slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--payout-address", default=None, help="set the payout address first")
        parser.add_argument("--royalty-bps", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        merchant = Merchant.objects.filter(slug=options["merchant"]).first()
        if merchant is None:
            raise CommandError(f"no merchant {options['merchant']!r}")
        try:
            if options["payout_address"]:
                set_payout_address(
                    merchant_id=merchant.pk,
                    address=options["payout_address"],
                    royalty_bps=options["royalty_bps"],
                )
            collection = deploy_merchant_collection(
                merchant_id=merchant.pk, name=options["name"], symbol=options["symbol"]
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(f"deployed {collection.name} at {collection.contract_address} for {merchant.slug}")
