"""Catalog use cases: merchants and their staff, NFT collections, products and SKUs."""

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from commerce.errors import InvalidCatalogData, NotFound
from commerce.models import (
    Merchant,
    MerchantMembership,
    MerchantRole,
    NftCollection,
    PhygitalDelivery,
    Product,
    ProductKind,
    Sku,
)
from commerce.models.catalog import NFT_KINDS


@dataclass(frozen=True)
class SkuSpec:
    code: str
    price: int
    currency: str = "usd"
    name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    edition_size: int | None = None


def create_merchant(*, name: str, slug: str, owner: User) -> Merchant:
    """A new shop with `owner` as its first member."""
    with transaction.atomic():
        merchant = Merchant.objects.create(name=name, slug=slug)
        MerchantMembership.objects.create(user=owner, merchant=merchant, role=MerchantRole.OWNER)
    return merchant


def add_member(*, merchant_id: int, user: User, role: str = MerchantRole.STAFF) -> MerchantMembership:
    """Give a user access to a merchant's console and API (idempotent; updates the role)."""
    membership, _ = MerchantMembership.objects.update_or_create(
        merchant_id=merchant_id, user=user, defaults={"role": role}
    )
    return membership


def create_collection(
    *, merchant_id: int, name: str, chain_id: int, contract_address: str, symbol: str = ""
) -> NftCollection:
    """Register an NFT contract the merchant mints into."""
    try:
        with transaction.atomic():
            return NftCollection.objects.create(
                merchant_id=merchant_id,
                name=name,
                symbol=symbol,
                chain_id=chain_id,
                contract_address=contract_address,
            )
    except IntegrityError:
        raise InvalidCatalogData(
            "This contract is already registered.", details={"field": "contract_address"}
        ) from None


def _check_skus(kind: str, skus: list[SkuSpec]) -> None:
    codes = [s.code for s in skus]
    if len(set(codes)) != len(codes):
        raise InvalidCatalogData("SKU codes must be unique within a product.", details={"field": "skus"})
    for spec in skus:
        if kind in NFT_KINDS and not spec.edition_size:
            raise InvalidCatalogData(
                "An NFT SKU needs an edition_size.", details={"field": "edition_size", "sku": spec.code}
            )


def _sku(product: Product, spec: SkuSpec) -> Sku:
    return Sku(
        product=product,
        code=spec.code,
        name=spec.name,
        price=spec.price,
        currency=spec.currency.lower(),
        attributes=spec.attributes,
        edition_size=spec.edition_size,
    )


def _collection_for(merchant_id: int, kind: str, collection_id: int | None) -> NftCollection | None:
    if kind == ProductKind.PHYSICAL:
        if collection_id is not None:
            raise InvalidCatalogData(
                "A physical product has no NFT collection.", details={"field": "collection_id"}
            )
        return None
    if collection_id is None:
        raise InvalidCatalogData(
            f"A {kind} product needs an NFT collection.", details={"field": "collection_id"}
        )
    collection = NftCollection.objects.filter(pk=collection_id, merchant_id=merchant_id).first()
    if collection is None:
        raise NotFound("Collection not found.", details={"resource": "collection", "id": collection_id})
    return collection


def _check_delivery(kind: str, delivery: str) -> None:
    if delivery not in PhygitalDelivery.values:
        raise InvalidCatalogData("Unknown delivery option.", details={"field": "phygital_delivery"})
    if kind != ProductKind.PHYGITAL and delivery != PhygitalDelivery.SHIP_WITH_PURCHASE:
        raise InvalidCatalogData(
            "Only phygital products can be redeemed later.", details={"field": "phygital_delivery"}
        )


def create_product(
    *,
    merchant_id: int,
    kind: str,
    title: str,
    skus: list[SkuSpec],
    description: str = "",
    media_urls: list[str] | None = None,
    collection_id: int | None = None,
    metadata_template: dict[str, Any] | None = None,
    phygital_delivery: str = PhygitalDelivery.SHIP_WITH_PURCHASE,
) -> Product:
    """A product with its SKUs; digital and phygital products need a collection and edition sizes.

    `phygital_delivery` (phygital only): ship the item with the purchase, or on redemption of the token.
    """
    if kind not in ProductKind.values:
        raise InvalidCatalogData("Unknown product kind.", details={"field": "kind"})
    _check_delivery(kind, phygital_delivery)
    if not skus:
        raise InvalidCatalogData("A product needs at least one SKU.", details={"field": "skus"})
    _check_skus(kind, skus)
    collection = _collection_for(merchant_id, kind, collection_id)
    with transaction.atomic():
        product = Product.objects.create(
            merchant_id=merchant_id,
            kind=kind,
            title=title,
            description=description,
            media_urls=media_urls or [],
            collection=collection,
            metadata_template=metadata_template or {},
            phygital_delivery=phygital_delivery,
        )
        Sku.objects.bulk_create([_sku(product, spec) for spec in skus])
    return product


def update_product(*, product_id: int, merchant_id: int, **fields: Any) -> Product:
    """Edit a product's descriptive fields (kind and collection are fixed once sold in a drop)."""
    allowed = {"title", "description", "media_urls", "metadata_template", "is_active", "phygital_delivery"}
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidCatalogData("These fields cannot be changed.", details={"fields": sorted(unknown)})
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=product_id, merchant_id=merchant_id).first()
        if product is None:
            raise NotFound("Product not found.", details={"resource": "product", "id": product_id})
        if "phygital_delivery" in fields:  # orders already placed keep what they were sold with
            _check_delivery(product.kind, fields["phygital_delivery"])
        for name, value in fields.items():
            setattr(product, name, value)
        product.save()
    return product


def add_sku(*, product_id: int, merchant_id: int, spec: SkuSpec) -> Sku:
    """Add a variant to an existing product."""
    product = Product.objects.filter(pk=product_id, merchant_id=merchant_id).first()
    if product is None:
        raise NotFound("Product not found.", details={"resource": "product", "id": product_id})
    _check_skus(product.kind, [spec])
    try:
        with transaction.atomic():
            sku = _sku(product, spec)
            sku.save()
    except IntegrityError:
        raise InvalidCatalogData(
            "SKU code already used in this product.", details={"field": "code"}
        ) from None
    return sku
