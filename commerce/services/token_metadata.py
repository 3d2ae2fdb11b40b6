"""What an NFT line's token says about itself: the product's metadata template, filled at mint time.

The result rides on `nft.mint.requested` (optional properties) and is what the nft app serves as the
token's ERC-721 metadata: name, description, image, animation_url (a wearable's 3D model),
attributes, and the edition ("n of N"), serial, kind and whether the token is redeemable.
"""

import re
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField
from django.db.models.functions import Cast

from commerce.models import OrderLine, Product, ProductKind

_PLACEHOLDER = re.compile(r"\{(serial|token_id|edition|edition_size|sku|title)\}")
_MODEL_SUFFIXES = (".glb", ".gltf", ".usdz", ".vrm", ".mp4", ".webm")
_TEXT_FIELDS = ("name", "description", "image", "animation_url", "external_url")


def redeem_later(product: Product) -> bool:
    """A phygital product whose item is shipped when its token is redeemed, not with the purchase.

    The choice is a product field added by the fulfilment work; until it exists every phygital
    product counts as "redeem later" (its certificate token is what the buyer holds).
    """
    if product.kind != ProductKind.PHYGITAL:
        return False
    mode = getattr(product, "phygital_delivery", None)
    return mode is None or str(mode) == "redeem_later"


def edition_of(line: OrderLine) -> int:
    """The line's place among the tokens of its SKU (token ids are handed out in payment order)."""
    numbers = OrderLine.objects.filter(sku_id=line.sku_id).exclude(token_id="")
    numbers = numbers.annotate(number=Cast("token_id", DecimalField(max_digits=78, decimal_places=0)))
    return numbers.filter(number__lte=Decimal(line.token_id)).count()


def serial_of(sku_code: str, edition: int, edition_size: int | None) -> str:
    """The item's serial: SKU code and zero-padded edition, e.g. SNK-42-007 of an edition of 100."""
    width = max(3, len(str(edition_size or "")))
    return f"{sku_code}-{edition:0{width}d}"


def _fill(value: Any, values: dict[str, str]) -> Any:
    """Replace known {placeholders} in strings (nested in lists / dicts); leave other braces alone."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], value)
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def _first_media(urls: list[Any], *, model: bool) -> str:
    for url in urls:
        if isinstance(url, str) and url and url.lower().split("?")[0].endswith(_MODEL_SUFFIXES) == model:
            return url
    return ""


def mint_metadata(line: OrderLine) -> dict[str, Any]:
    """Optional `nft.mint.requested` properties for a paid NFT line (its token id is allocated)."""
    sku = line.sku
    product = sku.product
    edition = edition_of(line)
    serial = serial_of(sku.code, edition, sku.edition_size)
    values = {
        "serial": serial,
        "token_id": line.token_id,
        "edition": str(edition),
        "edition_size": str(sku.edition_size or ""),
        "sku": sku.code,
        "title": product.title,
    }
    template = line.metadata_template or product.metadata_template or {}
    filled = _fill(template, values)
    media = [u for u in product.media_urls or [] if isinstance(u, str)]
    meta: dict[str, Any] = {
        k: str(filled[k]) for k in _TEXT_FIELDS if isinstance(filled.get(k), str) and filled[k]
    }
    meta.setdefault("name", f"{product.title} #{serial}")
    meta.setdefault("description", product.description)
    if "image" not in meta and _first_media(media, model=False):
        meta["image"] = _first_media(media, model=False)
    if "animation_url" not in meta and _first_media(media, model=True):
        meta["animation_url"] = _first_media(media, model=True)
    attributes = [a for a in filled.get("attributes", []) if isinstance(a, dict) and "trait_type" in a]
    attributes += [{"trait_type": str(k), "value": v} for k, v in (sku.attributes or {}).items()]
    meta.update(
        attributes=[
            {k: a[k] for k in ("trait_type", "value", "display_type") if k in a}
            for a in attributes[:50]
            if isinstance(a.get("value"), str | int | float | bool)
        ],
        edition=edition,
        serial=serial,
        product_kind=product.kind,
        product_id=product.pk,
        sku_id=sku.pk,
        merchant_id=product.merchant_id,
        redeemable=redeem_later(product),
    )
    if sku.edition_size:
        meta["edition_size"] = sku.edition_size
    if line.order.drop_id is not None:
        meta["drop_id"] = line.order.drop_id
    # The event schema bounds each text; a long template must not make the mint command invalid.
    for key, limit in (("name", 200), ("description", 5000), ("image", 1000), ("animation_url", 1000)):
        if key in meta:
            meta[key] = meta[key][:limit]
    if not meta["description"]:
        del meta["description"]
    return meta
