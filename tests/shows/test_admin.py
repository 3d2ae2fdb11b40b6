"""Show and chat-moderation admin: every page renders, and actions go through the show services."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.test import Client

from commerce.services import catalog
from commerce.shows.models import ChatMessage, FlashDrop, Show, ShowMute, ShowPin
from commerce.shows.services import chat, flash, pins
from realtime.models import OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator(make_user: Callable[..., User], shop: dict[str, Any]) -> User:
    """A superuser who is also staff of the show's merchant (the services let hosts moderate)."""
    user = make_user("admin")
    user.is_staff = user.is_superuser = True
    user.save()
    catalog.add_member(merchant_id=shop["merchant"].pk, user=user)
    return user


@pytest.fixture
def admin_client(moderator: User) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


@pytest.fixture
def timeline(live_show: Show, shop: dict[str, Any], make_user: Callable[..., User]) -> dict[str, Any]:
    """A pin, a flash drop, a message and a mute on the live show, all written by the services."""
    merchant_id = shop["merchant"].pk
    pins.pin_product(show_id=live_show.pk, merchant_id=merchant_id, product_id=shop["tee"].pk)
    flash.launch_flash_drop(show_id=live_show.pk, merchant_id=merchant_id,
                            spec=flash.FlashDropSpec(quantity=3, duration_seconds=600))  # fmt: skip
    viewer, troll = make_user("viewer"), make_user("troll")
    message = chat.post_message(show_id=live_show.pk, user=viewer, text="hello")
    chat.mute_user(show_id=live_show.pk, user_id=troll.pk, moderator_id=shop["owner"].pk)
    return {"message": message, "viewer": viewer, "troll": troll}


def test_every_show_admin_page_renders(
    admin_client: Client, live_show: Show, timeline: dict[str, Any]
) -> None:
    rows = {
        "show": live_show.pk,
        "showpin": ShowPin.objects.get().pk,
        "flashdrop": FlashDrop.objects.get().pk,
        "chatmessage": timeline["message"].pk,
        "showmute": ShowMute.objects.get().pk,
    }
    for model, pk in rows.items():
        assert admin_client.get(f"/admin/shows/{model}/").status_code == 200, model
        page = admin_client.get(f"/admin/shows/{model}/{pk}/change/")
        assert page.status_code == 200, model
    # Audit fields are shown, never editable; timeline rows cannot be added by hand.
    show_page = admin_client.get(f"/admin/shows/show/{live_show.pk}/change/").content.decode()
    assert 'name="state"' not in show_page and 'name="title"' in show_page
    assert admin_client.get("/admin/shows/chatmessage/add/").status_code == 403
    assert admin_client.get("/admin/shows/showmute/add/").status_code == 403


def _action(client: Client, model: str, action: str, pks: list[int]) -> str:
    response = client.post(f"/admin/shows/{model}/", {"action": action, "_selected_action": pks}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_deleting_a_message_calls_the_chat_service(
    admin_client: Client, moderator: User, live_show: Show, timeline: dict[str, Any]
) -> None:
    message = timeline["message"]
    _action(admin_client, "chatmessage", "delete_for_viewers", [message.pk])
    message.refresh_from_db()
    assert message.deleted_at is not None and message.deleted_by_id == moderator.pk  # hidden, kept
    (event,) = OutboxEvent.objects.filter(type="show.message_deleted")
    assert event.payload == {"show_id": live_show.pk, "message_id": message.pk, "deleted_by": moderator.pk,
                             "user_id": timeline["viewer"].pk}  # fmt: skip
    assert LogEntry.objects.filter(object_id=str(message.pk), change_message__startswith="Deleted").exists()
    # Again: the service's idempotence, no second event.
    _action(admin_client, "chatmessage", "delete_for_viewers", [message.pk])
    assert OutboxEvent.objects.filter(type="show.message_deleted").count() == 1


def test_mute_and_unmute_actions_call_the_chat_service(
    admin_client: Client, live_show: Show, timeline: dict[str, Any]
) -> None:
    _action(admin_client, "chatmessage", "mute_authors", [timeline["message"].pk])
    assert ShowMute.objects.filter(show=live_show, user=timeline["viewer"]).exists()
    assert OutboxEvent.objects.filter(type="show.user_muted", payload__user_id=timeline["viewer"].pk).exists()
    mute = ShowMute.objects.get(user=timeline["troll"])
    _action(admin_client, "showmute", "unmute", [mute.pk])
    assert not ShowMute.objects.filter(pk=mute.pk).exists()
    assert OutboxEvent.objects.filter(
        type="show.user_unmuted", payload__user_id=timeline["troll"].pk
    ).exists()


def test_a_refused_action_changes_nothing_and_says_why(
    admin_client: Client, live_show: Show, timeline: dict[str, Any], make_user: Callable[..., User]
) -> None:
    outsider = make_user("outsider")  # staff of the platform, not of this merchant: not a host
    outsider.is_staff = outsider.is_superuser = True
    outsider.save()
    client = Client()
    client.force_login(outsider)
    page = _action(client, "chatmessage", "delete_for_viewers", [timeline["message"].pk])
    assert "Only the show&#x27;s host" in page
    assert ChatMessage.objects.get(pk=timeline["message"].pk).deleted_at is None
    # State changes go through the lifecycle service too: ending the live show emits its event.
    _action(admin_client, "show", "end", [live_show.pk])
    live_show.refresh_from_db()
    assert live_show.state == "ended"
    assert OutboxEvent.objects.filter(type="show.state_changed", payload__to_state="ended").exists()
