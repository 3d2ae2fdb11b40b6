"""Start an auction from a live show on its pinned product (or a named one of the merchant)."""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from commerce.auctions.errors import AuctionAlreadyOpen, InvalidAuctionData
from commerce.auctions.increments import MAX_AMOUNT, check_table
from commerce.auctions.models import Auction, AuctionState, Ending
from commerce.auctions.services.common import lock_auction, move, push_state, schedule_close_on_commit
from commerce.shows.errors import NothingPinned, ProductNotFound
from commerce.shows.services.common import lock_show, require_live
from commerce.shows.services.pins import merchant_product, pin_locked
from realtime.outbox import emit

MIN_DURATION_S = 5
MAX_DURATION_S = 3600


@dataclass(frozen=True)
class AuctionSpec:
    """What the host asks for; amounts in minor units of the SKU's currency."""

    starting_price: int
    duration_seconds: int
    ending: str = Ending.ANTI_SNIPE
    anti_snipe_seconds: int = 15
    reserve_price: int | None = None
    increments: list[list[int]] = field(default_factory=list)
    checkout_minutes: int = 10
    product_id: int | None = None  # default: the pinned product
    sku_id: int | None = None
    title: str = ""
    start_now: bool = True


def _check(spec: AuctionSpec) -> list[list[int]]:
    def bad(message: str, name: str) -> InvalidAuctionData:
        return InvalidAuctionData(message, details={"field": name})

    if not MIN_DURATION_S <= spec.duration_seconds <= MAX_DURATION_S:
        raise bad(
            f"duration_seconds must be between {MIN_DURATION_S} and {MAX_DURATION_S}.", "duration_seconds"
        )
    if not 1 <= spec.starting_price <= MAX_AMOUNT:
        raise bad("starting_price must be at least 1 (minor units).", "starting_price")
    if spec.reserve_price is not None and not spec.starting_price <= spec.reserve_price <= MAX_AMOUNT:
        raise bad("reserve_price must be at least the starting price.", "reserve_price")
    if spec.ending not in Ending.values:
        raise bad("ending must be anti_snipe or sudden_death.", "ending")
    if not 1 <= spec.anti_snipe_seconds <= 120:
        raise bad("anti_snipe_seconds must be between 1 and 120.", "anti_snipe_seconds")
    if not 1 <= spec.checkout_minutes <= 24 * 60:
        raise bad("checkout_minutes must be between 1 and 1440.", "checkout_minutes")
    return check_table(spec.increments)


def create_auction(*, show_id: int, merchant_id: int, spec: AuctionSpec) -> Auction:
    """The host starts an auction on the live show (open now, or scheduled to open with `open_auction`)."""
    table = _check(spec)
    with transaction.atomic():
        show = lock_show(show_id, merchant_id=merchant_id)
        require_live(show, "starting an auction")
        product_id = spec.product_id or show.pinned_product_id
        if product_id is None:
            raise NothingPinned("Pin a product or name one to auction it.", details={"field": "product_id"})
        product = merchant_product(merchant_id=merchant_id, product_id=product_id)
        skus = product.skus.filter(is_active=True).order_by("pk")
        sku = skus.filter(pk=spec.sku_id).first() if spec.sku_id else skus.first()
        if sku is None:
            raise ProductNotFound("This product has no such active SKU.", details={"resource": "sku"})
        if show.pinned_product_id != product.pk:
            pin_locked(show, product)
        auction = Auction.objects.create(
            show=show, merchant_id=merchant_id, product=product, sku=sku,
            title=(spec.title.strip() or product.title)[:200], currency=sku.currency,
            starting_price=spec.starting_price, increments=table, reserve_price=spec.reserve_price,
            duration_seconds=spec.duration_seconds, ending=spec.ending,
            anti_snipe_seconds=spec.anti_snipe_seconds, checkout_minutes=spec.checkout_minutes,
        )  # fmt: skip
        payload: dict[str, Any] = {
            "auction_id": auction.pk, "show_id": show.pk, "merchant_id": merchant_id,
            "product_id": product.pk, "sku_id": sku.pk, "kind": product.kind, "title": auction.title,
            "currency": auction.currency, "starting_price": auction.starting_price,
            "reserve_price": auction.reserve_price, "increments": table,
            "duration_seconds": auction.duration_seconds, "ending": auction.ending,
            "anti_snipe_seconds": auction.anti_snipe_seconds, "checkout_minutes": auction.checkout_minutes,
        }  # fmt: skip
        emit(type="auction.created", key=auction.pk, payload=payload)
        if spec.start_now:
            _open_locked(auction)
        else:
            push_state(auction)
        return auction


def open_auction(*, auction_id: int, merchant_id: int) -> Auction:
    """Open a scheduled auction now: the clock runs `duration_seconds` from this moment."""
    with transaction.atomic():
        auction = lock_auction(auction_id)
        if auction.merchant_id != merchant_id:
            from commerce.auctions.errors import AuctionNotFound

            raise AuctionNotFound("Auction not found.", details={"resource": "auction", "id": auction_id})
        require_live(lock_show(auction.show_id, merchant_id=merchant_id), "opening an auction")
        _open_locked(auction)
        return auction


def _open_locked(auction: Auction) -> None:
    now = timezone.now()
    auction.opens_at, auction.ends_at = now, now + timedelta(seconds=auction.duration_seconds)
    move(auction, AuctionState.OPEN, reason="opened by host",
         extra={"opens_at": auction.opens_at, "ends_at": auction.ends_at})  # fmt: skip
    try:
        with transaction.atomic():  # the partial unique index: one open auction per show
            auction.save(update_fields=["state", "opens_at", "ends_at", "updated_at"])
    except IntegrityError:
        raise AuctionAlreadyOpen(
            "Another auction is running in this show; wait for it to end.",
            details={"show_id": auction.show_id},
        ) from None
    schedule_close_on_commit(auction.pk, auction.ends_at)
    push_state(auction)
