"""Show services on the real PostgreSQL: lifecycle, pins, flash drops (commerce's drops), chat rules."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from commerce.models import Drop, DropState
from commerce.services.reservations import reserve_stock
from commerce.shows import selectors
from commerce.shows.errors import (
    ChatMarkupRefused,
    ChatMessageTooLong,
    ChatMuted,
    ChatNotAuthenticated,
    ChatRateLimited,
    InvalidShowTransition,
    NotHost,
    ProductNotFound,
    ShowNotFound,
    ShowNotLive,
)
from commerce.shows.models import ChatMessage, FlashDrop, Show, ShowPin, ShowState
from commerce.shows.services import chat, flash, lifecycle, pins
from realtime.models import OutboxEvent

pytestmark = pytest.mark.django_db


def _types(show: Show) -> list[str]:
    return list(
        OutboxEvent.objects.filter(aggregateid=str(show.pk), type__startswith="show.")
        .order_by("created_at")
        .values_list("type", flat=True)
    )


def _spec(**kw: Any) -> flash.FlashDropSpec:
    return flash.FlashDropSpec(**{"quantity": 5, "duration_seconds": 120, "per_buyer_limit": 1, **kw})


def test_state_machine_scheduled_live_ended_with_events(live_show: Show, shop: dict[str, Any]) -> None:
    m = shop["merchant"].pk
    assert live_show.state == ShowState.LIVE and live_show.started_at is not None
    lifecycle.end_show(show_id=live_show.pk, merchant_id=m)
    with pytest.raises(InvalidShowTransition):
        lifecycle.go_live(show_id=live_show.pk, merchant_id=m)
    live_show.refresh_from_db()
    assert live_show.state == ShowState.ENDED and live_show.ended_at is not None
    assert _types(live_show) == ["show.state_changed", "show.state_changed"]
    with pytest.raises(ShowNotFound):  # another merchant cannot even see it
        lifecycle.end_show(show_id=live_show.pk, merchant_id=shop["rival"].pk)


def test_pin_replaces_and_unpins_with_timeline(live_show: Show, shop: dict[str, Any]) -> None:
    m = shop["merchant"].pk
    pins.pin_product(show_id=live_show.pk, merchant_id=m, product_id=shop["tee"].pk)
    pins.pin_product(show_id=live_show.pk, merchant_id=m, product_id=shop["wearable"].pk)
    live_show.refresh_from_db()
    assert live_show.pinned_product_id == shop["wearable"].pk
    assert [p.unpinned_at is None for p in ShowPin.objects.filter(show=live_show)] == [False, True]
    assert pins.unpin_product(show_id=live_show.pk, merchant_id=m) == shop["wearable"].pk
    assert _types(live_show)[1:] == [
        "show.product_pinned", "show.product_unpinned", "show.product_pinned", "show.product_unpinned",
    ]  # fmt: skip


def test_pinning_another_merchants_product_is_refused_and_changes_nothing(
    live_show: Show, shop: dict[str, Any]
) -> None:
    before = OutboxEvent.objects.count()
    with pytest.raises(ProductNotFound):
        pins.pin_product(
            show_id=live_show.pk, merchant_id=shop["merchant"].pk, product_id=shop["rival_product"].pk
        )
    live_show.refresh_from_db()
    assert live_show.pinned_product_id is None
    assert not ShowPin.objects.exists() and OutboxEvent.objects.count() == before


def test_flash_drop_reuses_commerce_drops_and_reservations(
    live_show: Show, shop: dict[str, Any], make_user: Callable[..., User]
) -> None:
    m = shop["merchant"].pk
    link = flash.launch_flash_drop(
        show_id=live_show.pk, merchant_id=m, spec=_spec(product_id=shop["wearable"].pk, per_buyer_limit=2)
    )
    drop = Drop.objects.get(pk=link.drop_id)
    item = drop.items.get()
    assert drop.state == DropState.LIVE and drop.per_buyer_limit == 2 and item.offered == 5
    assert drop.ends_at is not None and 100 < (drop.ends_at - drop.starts_at).total_seconds() <= 121
    live_show.refresh_from_db()
    assert live_show.flash_drop_id == drop.pk and live_show.pinned_product_id == shop["wearable"].pk
    buyer = make_user("buyer")
    reservation = reserve_stock(drop_id=drop.pk, sku_id=item.sku_id, buyer_id=buyer.pk, quantity=2)
    assert reservation.quantity == 2
    assert selectors.flash_drop_state(drop_id=drop.pk)["skus"][0]["available"] == 3
    assert "show.flash_drop_launched" in _types(live_show)
    assert OutboxEvent.objects.filter(type="drop.state_changed", aggregateid=str(drop.pk)).exists()


def test_flash_drop_on_an_ended_show_is_refused_and_creates_nothing(
    live_show: Show, shop: dict[str, Any]
) -> None:
    m = shop["merchant"].pk
    lifecycle.end_show(show_id=live_show.pk, merchant_id=m)
    drops, links, events = Drop.objects.count(), FlashDrop.objects.count(), OutboxEvent.objects.count()
    with pytest.raises(ShowNotLive):
        flash.launch_flash_drop(show_id=live_show.pk, merchant_id=m, spec=_spec(product_id=shop["tee"].pk))
    assert (Drop.objects.count(), FlashDrop.objects.count(), OutboxEvent.objects.count()) == (
        drops,
        links,
        events,
    )


def test_ending_the_show_ends_its_flash_drop_and_unpins(live_show: Show, shop: dict[str, Any]) -> None:
    m = shop["merchant"].pk
    link = flash.launch_flash_drop(show_id=live_show.pk, merchant_id=m, spec=_spec(product_id=shop["tee"].pk))
    lifecycle.end_show(show_id=live_show.pk, merchant_id=m)
    live_show.refresh_from_db()
    assert live_show.pinned_product_id is None
    assert Drop.objects.get(pk=link.drop_id).state == DropState.ENDED


def test_chat_rules(
    live_show: Show, shop: dict[str, Any], make_user: Callable[..., User], settings: Any
) -> None:
    viewer = make_user()
    ok = chat.post_message(show_id=live_show.pk, user=viewer, text="  <3 this jacket, 2 < 3  ")
    assert ok.text == "<3 this jacket, 2 < 3"
    refused: list[tuple[object, type[Exception]]] = [
        ("x" * (settings.SHOWS_CHAT_MAX_LENGTH + 1), ChatMessageTooLong),
        ("<script>alert(1)</script>", ChatMarkupRefused),
        ('<img src=x onerror="alert(1)">', ChatMarkupRefused),
        ("click javascript:alert(1)", ChatMarkupRefused),
    ]
    for text, error in refused:
        with pytest.raises(error):
            chat.post_message(show_id=live_show.pk, user=viewer, text=text)
    with pytest.raises(ChatNotAuthenticated):
        chat.post_message(show_id=live_show.pk, user=None, text="hi")
    assert ChatMessage.objects.count() == 1


def test_chat_flood_is_rate_limited(live_show: Show, make_user: Callable[..., User], settings: Any) -> None:
    viewer = make_user()
    for i in range(settings.SHOWS_CHAT_RATE_LIMIT):
        chat.post_message(show_id=live_show.pk, user=viewer, text=f"msg {i}")
    with pytest.raises(ChatRateLimited) as caught:
        chat.post_message(show_id=live_show.pk, user=viewer, text="one too many")
    assert caught.value.details["retry_after"] >= 1
    assert ChatMessage.objects.count() == settings.SHOWS_CHAT_RATE_LIMIT
    chat.post_message(show_id=live_show.pk, user=make_user(), text="others still chat")


def test_moderation_mute_and_delete(
    live_show: Show, shop: dict[str, Any], make_user: Callable[..., User]
) -> None:
    viewer, other = make_user(), make_user()
    message = chat.post_message(show_id=live_show.pk, user=viewer, text="spam")
    with pytest.raises(NotHost):
        chat.delete_message(show_id=live_show.pk, message_id=message.pk, moderator_id=other.pk)
    chat.delete_message(show_id=live_show.pk, message_id=message.pk, moderator_id=shop["owner"].pk)
    assert selectors.recent_messages(show_id=live_show.pk) == []
    chat.mute_user(show_id=live_show.pk, user_id=viewer.pk, moderator_id=shop["owner"].pk)
    with pytest.raises(ChatMuted):
        chat.post_message(show_id=live_show.pk, user=viewer, text="let me talk")
    assert chat.unmute_user(show_id=live_show.pk, user_id=viewer.pk, moderator_id=shop["owner"].pk)
    chat.post_message(show_id=live_show.pk, user=viewer, text="thanks")
    assert [t for t in _types(live_show) if "message" in t or "mute" in t] == [
        "show.message_posted", "show.message_deleted", "show.user_muted", "show.user_unmuted", "show.message_posted",
    ]  # fmt: skip


def test_late_joiner_snapshot(
    live_show: Show, shop: dict[str, Any], make_user: Callable[..., User], settings: Any
) -> None:
    settings.SHOWS_CHAT_RATE_LIMIT = 1000
    m = shop["merchant"].pk
    link = flash.launch_flash_drop(
        show_id=live_show.pk, merchant_id=m, spec=_spec(product_id=shop["wearable"].pk)
    )
    viewer = make_user()
    for i in range(55):
        chat.post_message(show_id=live_show.pk, user=viewer, text=f"line {i}")
    snap = selectors.show_snapshot(show_id=live_show.pk, user_id=viewer.pk)
    assert snap["pinned"]["product_id"] == shop["wearable"].pk
    assert snap["pinned"]["animation_url"] == "https://example.test/jacket.glb"
    assert snap["flash_drop"]["drop_id"] == link.drop_id and snap["flash_drop"]["skus"][0]["available"] == 5
    assert [m["text"] for m in snap["messages"]] == [f"line {i}" for i in range(5, 55)]
    venue = selectors.venue_feed(show_id=live_show.pk)
    assert set(venue) == {
        "show_id", "title", "state", "playback_url", "pinned", "flash_drop", "server_time", "auction", "giveaway"
    }  # fmt: skip
