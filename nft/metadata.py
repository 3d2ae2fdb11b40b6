"""Token metadata: what a mint request may carry and the ERC-721 metadata JSON built from it.

The commerce side fills the product's template when it asks for the mint (`nft.mint.requested`);
the nft side keeps those fields on the Mint row and serves them at the collection's base URI, in the
shape wallets and marketplaces read (name, description, image, animation_url, attributes).
"""

from typing import Any

# Optional properties of `nft.mint.requested` that describe the token (kept on Mint.metadata).
METADATA_FIELDS = (
    "name",
    "description",
    "image",
    "animation_url",
    "external_url",
    "attributes",
    "drop_id",
    "edition",
    "edition_size",
    "serial",
    "product_kind",
    "product_id",
    "sku_id",
    "merchant_id",
    "redeemable",
)


def metadata_from_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The metadata properties present (and not null) in a mint request."""
    return {k: payload[k] for k in METADATA_FIELDS if payload.get(k) is not None}


def _edition_attribute(meta: dict[str, Any]) -> dict[str, Any] | None:
    edition = meta.get("edition")
    if edition is None:
        return None
    size = meta.get("edition_size")
    if size:
        # "12 of 500": the string marketplaces show as-is; max_value lets them draw a bar too.
        return {"trait_type": "Edition", "value": f"{edition} of {size}"}
    return {"trait_type": "Edition", "value": edition, "display_type": "number"}


def token_document(
    *, meta: dict[str, Any], collection_name: str, token_id: int, redeemed: bool | None
) -> dict[str, Any]:
    """ERC-721 metadata JSON of one token; `redeemed` None means "not a redeemable token"."""
    attributes: list[dict[str, Any]] = []
    edition = _edition_attribute(meta)
    if edition is not None:
        attributes.append(edition)
    if meta.get("serial"):
        attributes.append({"trait_type": "Serial", "value": meta["serial"]})
    if meta.get("product_kind"):
        attributes.append({"trait_type": "Kind", "value": str(meta["product_kind"]).capitalize()})
    if meta.get("drop_id") is not None:
        attributes.append({"trait_type": "Drop", "value": meta["drop_id"]})
    if redeemed is not None:
        attributes.append({"trait_type": "Redeemed", "value": "Yes" if redeemed else "No"})
    attributes += [a for a in meta.get("attributes", []) if isinstance(a, dict)]
    doc: dict[str, Any] = {
        "name": meta.get("name") or f"{collection_name} #{token_id}",
        "description": meta.get("description", ""),
        "image": meta.get("image", ""),
        "attributes": attributes,
    }
    for optional in ("animation_url", "external_url"):
        if meta.get(optional):
            doc[optional] = meta[optional]
    return doc
