"""The metadata an NFT line's token carries: the product template filled per token (PostgreSQL)."""

from collections.abc import Callable
from typing import Any

import pytest

from commerce.models import Drop, Product
from commerce.services.orders import mark_order_paid, place_order
from commerce.services.reservations import reserve_stock
from commerce.services.token_metadata import mint_metadata, serial_of
from realtime.contracts import validate_payload

pytestmark = pytest.mark.django_db


def _paid_lines(drop: Drop, sku: Any, buyer: Any, quantity: int) -> list[Any]:
    reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=buyer.pk, quantity=quantity)
    order = place_order(buyer_id=buyer.pk)
    mark_order_paid(order_id=order.pk)
    return list(order.lines.order_by("pk"))


def test_phygital_tokens_get_their_edition_serial_and_are_redeemable(
    shop: dict[str, Any], make_drop: Callable[..., Drop], make_user: Callable[..., Any]
) -> None:
    product = Product.objects.get(pk=shop["sneaker"].product_id)
    product.metadata_template = {
        "name": "Sneaker #{serial}",
        "description": "Pair {edition} of {edition_size}; {unknown} and {{braces}} stay as written.",
        "animation_url": "https://cdn.example.test/{sku}.glb",
    }
    product.media_urls = ["https://cdn.example.test/sneaker.jpg"]
    product.phygital_delivery = "redeem_later"  # token first, the item when the owner redeems it
    product.save()
    drop = make_drop(skus=[shop["sneaker"]], limit=3)
    lines = _paid_lines(drop, shop["sneaker"], make_user(), 2)
    first, second = (mint_metadata(line) for line in lines)

    assert first["edition"] == 1 and second["edition"] == 2 and first["edition_size"] == 1000
    assert first["serial"] == "SNK-42-0001" and second["serial"] == "SNK-42-0002"
    assert first["name"] == "Sneaker #SNK-42-0001"
    assert first["description"] == "Pair 1 of 1000; {unknown} and {{braces}} stay as written."
    assert first["animation_url"] == "https://cdn.example.test/SNK-42.glb"
    assert first["image"] == "https://cdn.example.test/sneaker.jpg"  # from the product's media
    assert first["product_kind"] == "phygital" and first["redeemable"] is True
    assert first["merchant_id"] == shop["merchant"].pk and first["drop_id"] == drop.pk
    # What rides on nft.mint.requested must satisfy its schema.
    for line, meta in zip(lines, (first, second), strict=True):
        validate_payload(
            "nft.mint.requested",
            1,
            {"order_id": line.order_id, "line_id": line.pk, "chain_id": 31337,
             "contract_address": line.nft_contract_address, "token_id": line.token_id,
             "to_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", **meta},
        )  # fmt: skip


def test_digital_tokens_are_not_redeemable_and_serials_pad_to_the_edition_size(
    shop: dict[str, Any], make_drop: Callable[..., Drop], make_user: Callable[..., Any]
) -> None:
    drop = make_drop(skus=[shop["wearable"]])
    (line,) = _paid_lines(drop, shop["wearable"], make_user(), 1)
    meta = mint_metadata(line)
    assert meta["name"] == "Jacket #JKT-0001" and meta["redeemable"] is False
    assert meta["animation_url"] == "https://example.test/jacket.glb"
    assert serial_of("X", 7, 100) == "X-007" and serial_of("X", 7, None) == "X-007"
