"""Read queries of live shows: the snapshot a late joiner gets, the venue feed, cards. Nothing writes."""

from typing import Any

from django.db.models import F, Sum
from django.utils import timezone

from commerce.models import DropItem, Product
from commerce.selectors import drop_availability
from commerce.shows.errors import ShowNotFound
from commerce.shows.models import ChatMessage, FlashDrop, Show, ShowMute, ShowState
from realtime.ws.snapshots import countdown_target

REPLAY_MESSAGES = 50


def _media(product: Product) -> dict[str, str]:
    meta = product.metadata_template or {}
    urls = [u for u in (product.media_urls or []) if isinstance(u, str)]
    image = meta.get("image") or next((u for u in urls if not u.lower().endswith((".glb", ".gltf"))), "")
    model = meta.get("animation_url") or next((u for u in urls if u.lower().endswith((".glb", ".gltf"))), "")
    return {"image": str(image or ""), "animation_url": str(model or "")}


def product_card(product: Product) -> dict[str, Any]:
    """A pinned product as viewers and venue clients see it (3D asset in `animation_url`)."""
    skus = [
        {"sku_id": s.pk, "code": s.code, "name": s.name, "price": s.price, "currency": s.currency}
        for s in product.skus.filter(is_active=True).order_by("pk")
    ]
    return {
        "product_id": product.pk,
        "title": product.title,
        "kind": product.kind,
        "description": product.description[:500],
        "mints_nft": product.mints_nft,
        **_media(product),
        "skus": skus,
    }


def flash_drop_state(*, drop_id: int) -> dict[str, Any]:
    """State, countdown target and stock of a flash drop (commerce's availability selector)."""
    data = drop_availability(drop_id=drop_id)
    link = FlashDrop.objects.filter(drop_id=drop_id).values("product_id").first()
    return {
        "drop_id": drop_id,
        "product_id": link["product_id"] if link else None,
        "state": data["state"],
        "per_buyer_limit": data["per_buyer_limit"],
        "starts_at": data["starts_at"],
        "ends_at": data["ends_at"],
        "countdown_to": countdown_target(data["state"], data["starts_at"], data["ends_at"]),
        "skus": [
            {k: i[k] for k in ("sku_id", "offered", "reserved", "sold", "available", "price", "currency")}
            for i in data["items"]
        ],
    }


def message_row(message: ChatMessage, *, username: str) -> dict[str, Any]:
    """One chat line as clients get it: `text` as typed (render it as text, never as HTML)."""
    return {
        "id": message.pk,
        "user_id": message.user_id,
        "username": username,
        "text": message.text,
        "role": "host" if message.is_host else "viewer",
        "at": message.created_at,
    }


def recent_messages(*, show_id: int, limit: int = REPLAY_MESSAGES) -> list[dict[str, Any]]:
    """The last `limit` messages not deleted, oldest first (what a late joiner is replayed)."""
    rows = list(
        ChatMessage.objects.filter(show_id=show_id, deleted_at__isnull=True)
        .select_related("user")
        .order_by("-id")[:limit]
    )
    return [message_row(m, username=m.user.get_username()) for m in reversed(rows)]


def show_sales(*, show_id: int) -> dict[str, Any]:
    """Units sold and revenue over every flash drop of the show, per drop too."""
    rows = list(
        DropItem.objects.filter(drop__show_link__show_id=show_id)
        .with_stock_totals()  # a split item's sales are mostly on its shards
        .values("drop_id", "currency")
        .annotate(
            units=Sum(F("sold") + F("shard_sold")), revenue=Sum((F("sold") + F("shard_sold")) * F("price"))
        )
        .order_by("drop_id")
    )
    return {
        "units_sold": sum(r["units"] or 0 for r in rows),
        "revenue": sum(r["revenue"] or 0 for r in rows),
        "currency": rows[0]["currency"] if rows else "usd",
        "drops": [
            {"drop_id": r["drop_id"], "units_sold": r["units"] or 0, "revenue": r["revenue"] or 0}
            for r in rows
        ],
    }


def get_show(*, show_id: int) -> Show:
    show = Show.objects.select_related("merchant", "pinned_product").filter(pk=show_id).first()
    if show is None:
        raise ShowNotFound("Show not found.", details={"resource": "show", "id": show_id})
    return show


def show_header(show: Show) -> dict[str, Any]:
    return {
        "show_id": show.pk,
        "merchant_id": show.merchant_id,
        "merchant": show.merchant.name,
        "title": show.title,
        "description": show.description,
        "cover_image_url": show.cover_image_url,
        "playback_url": show.playback_url,
        "playback_kind": "hls" if show.is_hls else "embed",
        "state": show.state,
        "scheduled_at": show.scheduled_at,
        "started_at": show.started_at,
        "ended_at": show.ended_at,
    }


def show_snapshot(*, show_id: int, user_id: int | None = None, chat: bool = True) -> dict[str, Any]:
    """Everything a late joiner needs: show, pinned product, flash drop with stock, last messages, sales."""
    show = get_show(show_id=show_id)
    data: dict[str, Any] = {
        "show": show_header(show),
        "pinned": product_card(show.pinned_product) if show.pinned_product else None,
        "flash_drop": flash_drop_state(drop_id=show.flash_drop_id) if show.flash_drop_id else None,
        "sales": show_sales(show_id=show_id),
        "server_time": timezone.now(),
        **_auction_part(show_id),
    }
    if chat:
        data["messages"] = recent_messages(show_id=show_id)
        data["you"] = {
            "user_id": user_id,
            "muted": user_id is not None
            and ShowMute.objects.filter(show_id=show_id, user_id=user_id).exists(),
        }
    return data


def _auction_part(show_id: int) -> dict[str, Any]:
    """The show's current (or last) auction and giveaway, as their frames carry them (commerce/auctions)."""
    from commerce.auctions.selectors import current_auction, current_giveaway

    return {"auction": current_auction(show_id=show_id), "giveaway": current_giveaway(show_id=show_id)}


def venue_feed(*, show_id: int) -> dict[str, Any]:
    """The compact feed for 3D venue / game clients (no chat): see commerce/shows/VENUE.md."""
    snap = show_snapshot(show_id=show_id, chat=False)
    show = snap["show"]
    return {
        "show_id": show["show_id"],
        "title": show["title"],
        "state": show["state"],
        "playback_url": show["playback_url"],
        "pinned": snap["pinned"],
        "flash_drop": snap["flash_drop"],
        "auction": snap["auction"],
        "giveaway": snap["giveaway"],
        "server_time": snap["server_time"],
    }


def public_shows() -> Any:
    """Shows viewers may find: live first, then upcoming; ended ones drop off."""
    return (
        Show.objects.filter(merchant__is_active=True)
        .exclude(state=ShowState.ENDED)
        .select_related("merchant")
        .order_by("state", "scheduled_at")  # "live" sorts before "scheduled"
    )
