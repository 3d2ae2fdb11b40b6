"""`manage.py seed_demo`: a demo shop with staff logins, products of each kind, drops and shoppers.

Safe to run again: existing demo objects are kept; drops that are no longer live or upcoming are
replaced by fresh ones so `make dev` always shows one live drop and one about to start.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from commerce.models import Drop, DropState, Merchant, MerchantRole, NftCollection, Product
from commerce.services import catalog, drops

PASSWORD = "mintdrop-demo"
DEMO_COLLECTION_NAME = "Mintdrop Demo Collection"
SHOPPERS = ["shopper1", "shopper2", "shopper3"]

# Pictures and 3D models are static files of the frontend app (frontend/static/frontend/demo/, made
# by `python -m frontend.demo.assets`): the demo works offline and never shows a broken image.
DEMO_MEDIA = "frontend/demo/"

PRODUCTS: list[dict[str, Any]] = [
    {
        "kind": "physical",
        "title": "Mintdrop hoodie",
        "picture": "hoodie.svg",
        "skus": [("HOOD-M", "M", 5900), ("HOOD-L", "L", 5900)],
    },
    {
        "kind": "physical",
        "title": "Enamel pin set",
        "picture": "pin-set.svg",
        "skus": [("PIN-SET", "", 1200)],
    },
    {
        "kind": "digital",
        "title": "Neon jacket (metaverse wearable)",
        "picture": "neon-jacket.svg",
        "model": "neon-jacket.gltf",
        "skus": [("NEON-JKT", "", 1500)],
        "edition": 500,
        "metadata": {
            "name": "Neon jacket #{serial}",
            "description": "A wearable for the metaverse.",
            "attributes": [{"trait_type": "slot", "value": "torso"}],
        },
    },
    {
        "kind": "digital",
        "title": "Holo visor (metaverse wearable)",
        "picture": "holo-visor.svg",
        "model": "holo-visor.gltf",
        "skus": [("HOLO-VSR", "", 900)],
        "edition": 300,
        "metadata": {"name": "Holo visor #{serial}"},
    },
    {
        "kind": "phygital",
        "title": "Genesis sneaker + NFT certificate",
        "picture": "sneaker.svg",
        "skus": [("SNK-42", "EU 42", 18900), ("SNK-43", "EU 43", 18900)],
        "edition": 100,
        "metadata": {
            "name": "Genesis sneaker certificate #{serial}",
            "description": "Certificate of authenticity.",
        },
    },
    {
        "kind": "phygital",
        "title": "Signed print + NFT certificate",
        "picture": "print.svg",
        "skus": [("PRINT-A2", "A2", 7500)],
        "edition": 50,
        "metadata": {"name": "Signed print certificate #{serial}"},
    },
]


def demo_media_path(name: str) -> str:
    """Site path of a demo media file (pages of this site load it from there)."""
    return "/" + settings.STATIC_URL.strip("/") + "/" + DEMO_MEDIA + name


def demo_media_url(name: str) -> str:
    """Absolute URL of a demo media file: token metadata is read by wallets on other origins."""
    return settings.SITE_URL.rstrip("/") + demo_media_path(name)


def product_media(spec: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """`media_urls` and `metadata_template` of a demo product, pointing at the local demo files."""
    media_urls = [demo_media_path(spec["picture"])]
    metadata = dict(spec.get("metadata", {}))
    if spec["kind"] != "physical":
        metadata["image"] = demo_media_url(spec["picture"])
    if "model" in spec:
        media_urls.append(demo_media_path(spec["model"]))
        metadata["animation_url"] = demo_media_url(spec["model"])
    return media_urls, metadata


def _demo_contract_address() -> str:
    """A demo collection that really exists on the configured chain, deployed if needed.

    The dev chain is kept on disk by `ops/` (ANVIL_MODE=live); if it was lost anyway, the chain state
    this database recorded (nonces, transactions, tokens) is meaningless, so say how to start afresh.
    """
    from nft.chain import client
    from nft.keys import signer_account
    from nft.models import Collection
    from nft.services.collections import deploy_collection

    recorded = Collection.objects.filter(chain_id=settings.CHAIN_ID, name=DEMO_COLLECTION_NAME).order_by(
        "-pk"
    )
    for collection in recorded[:1]:
        if client().w3.eth.get_code(collection.address):
            return str(collection.address)
        # Nonces, transactions and tokens recorded here belong to a chain that is gone.
        raise CommandError(
            f"the demo collection {collection.address} recorded in this database is not on the chain at "
            f"{settings.CHAIN_RPC_URL} (the local chain was reset); start afresh with: ops/reset-dev && make dev"
        )
    deployed = deploy_collection(
        name=DEMO_COLLECTION_NAME,
        symbol="MDEMO",
        royalty_receiver=signer_account().address,
        royalty_bps=500,
    )
    return str(deployed.address)


def _user(username: str, *, staff: bool = False) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.com"}
    )
    if created or not user.check_password(PASSWORD):
        user.set_password(PASSWORD)
    user.is_staff = user.is_staff or staff
    user.save()
    # Demo addresses count as confirmed, so the demo's receipts and updates show up in Mailpit.
    from notifications.services.accounts import mark_verified

    mark_verified(user=user)
    return user


class Command(BaseCommand):
    help = "Create (or refresh) the demo merchant, its catalog, a live drop, an upcoming drop and shoppers."

    def handle(self, *args: Any, **options: Any) -> None:
        admin = _user("admin", staff=True)
        if not admin.is_superuser:
            admin.is_superuser = True
            admin.save(update_fields=["is_superuser"])
        owner = _user("demo-merchant", staff=True)
        staff = _user("demo-staff", staff=True)
        merchant = Merchant.objects.filter(slug="mintdrop-demo").first()
        if merchant is None:
            merchant = catalog.create_merchant(name="Mintdrop Demo Store", slug="mintdrop-demo", owner=owner)
        catalog.add_member(merchant_id=merchant.pk, user=owner, role=MerchantRole.OWNER)
        catalog.add_member(merchant_id=merchant.pk, user=staff, role=MerchantRole.STAFF)
        contract = _demo_contract_address()
        collection = NftCollection.objects.filter(merchant=merchant).first() or catalog.create_collection(
            merchant_id=merchant.pk,
            name=DEMO_COLLECTION_NAME,
            symbol="MDEMO",
            chain_id=settings.CHAIN_ID,
            contract_address=contract,
        )
        if (collection.chain_id, collection.contract_address) != (settings.CHAIN_ID, contract):
            collection.chain_id, collection.contract_address = settings.CHAIN_ID, contract
            collection.save(update_fields=["chain_id", "contract_address"])
        for spec in PRODUCTS:
            media_urls, metadata = product_media(spec)
            existing = Product.objects.filter(merchant=merchant, title=spec["title"]).first()
            if existing is not None:
                # Databases seeded before the demo had local media (or under another SITE_URL).
                if (existing.media_urls, existing.metadata_template) != (media_urls, metadata):
                    catalog.update_product(
                        product_id=existing.pk,
                        merchant_id=merchant.pk,
                        media_urls=media_urls,
                        metadata_template=metadata,
                    )
                continue
            nft = spec["kind"] != "physical"
            catalog.create_product(
                merchant_id=merchant.pk,
                kind=spec["kind"],
                title=spec["title"],
                description=f"Demo {spec['kind']} product.",
                media_urls=media_urls,
                collection_id=collection.pk if nft else None,
                metadata_template=metadata,
                skus=[
                    catalog.SkuSpec(
                        code=code, name=name, price=price, edition_size=spec.get("edition") if nft else None
                    )
                    for code, name, price in spec["skus"]
                ],
            )
        skus = [p.skus.first() for p in Product.objects.filter(merchant=merchant).order_by("pk")]
        now = timezone.now()
        live = Drop.objects.filter(
            merchant=merchant, title="Demo drop: live now", state=DropState.LIVE
        ).first()
        if live is None:
            live = drops.create_drop(
                merchant_id=merchant.pk,
                title="Demo drop: live now",
                starts_at=now,
                ends_at=now + timedelta(hours=6),
                per_buyer_limit=2,
                items=[drops.DropItemSpec(sku_id=s.pk, quantity=20) for s in skus if s is not None],
            )
            drops.start_drop(drop_id=live.pk)
        upcoming = Drop.objects.filter(
            merchant=merchant, title="Demo drop: starts soon", state=DropState.SCHEDULED
        ).first()
        if upcoming is None or upcoming.starts_at < now:
            upcoming = drops.create_drop(
                merchant_id=merchant.pk,
                title="Demo drop: starts soon",
                starts_at=now + timedelta(minutes=5),
                ends_at=now + timedelta(hours=2),
                per_buyer_limit=1,
                items=[drops.DropItemSpec(sku_id=s.pk, quantity=10) for s in skus[2:4] if s is not None],
            )
        for name in SHOPPERS:
            _user(name)
        self.stdout.write(
            f"demo ready: merchant {merchant.pk} (logins demo-merchant / demo-staff / admin, "
            f"shoppers {', '.join(SHOPPERS)}; password {PASSWORD}); live drop {live.pk}, upcoming drop {upcoming.pk}"
        )
