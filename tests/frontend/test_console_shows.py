"""Console show form: create, reschedule and cancel a show; bad input explained; other merchants refused."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from commerce.models import MerchantRole
from commerce.services import catalog
from commerce.shows.models import Show, ShowState
from commerce.shows.services import lifecycle

pytestmark = pytest.mark.django_db

FMT = "%Y-%m-%dT%H:%M"


@pytest.fixture
def shops() -> dict[str, Any]:
    owner = User.objects.create_user("show-owner", password="pw-123456789")
    staff = User.objects.create_user("show-staff", password="pw-123456789")
    merchant = catalog.create_merchant(name="Show Shop", slug="show-shop", owner=owner)
    catalog.add_member(merchant_id=merchant.pk, user=staff, role=MerchantRole.STAFF)
    rival_owner = User.objects.create_user("rival-owner", password="pw-123456789")
    rival = catalog.create_merchant(name="Rival Shop", slug="rival-shop", owner=rival_owner)
    return {"owner": owner, "staff": staff, "merchant": merchant, "rival": rival, "rival_owner": rival_owner}


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(**overrides: Any) -> dict[str, Any]:
    data = {
        "title": "Sneaker unboxing",
        "description": "We open the Genesis box live.",
        "scheduled_at": (timezone.now() + timedelta(days=1)).strftime(FMT),
        "playback_url": "/media/shows/demo-show/index.m3u8",
    }
    return {**data, **overrides}


def test_staff_schedules_a_show_and_finds_it_on_the_console(shops: dict[str, Any]) -> None:
    staff, merchant = _client(shops["staff"]), shops["merchant"]
    base = f"/console/{merchant.pk}/shows/"
    assert "Schedule a show" in staff.get(f"/console/{merchant.pk}/").content.decode()
    when = timezone.now() + timedelta(days=2)
    response = staff.post(base + "new/", _form(scheduled_at=when.strftime(FMT)))
    assert response.status_code == 302 and response["Location"] == base
    show = Show.objects.get(merchant=merchant)
    assert (show.title, show.state, show.playback_url) == (
        "Sneaker unboxing",
        ShowState.SCHEDULED,
        "/media/shows/demo-show/index.m3u8",
    )
    assert show.scheduled_at == when.replace(second=0, microsecond=0)
    listing = staff.get(base).content.decode()
    assert f'data-show-row="{show.pk}"' in listing and f"/console/{merchant.pk}/shows/{show.pk}/" in listing
    # Shoppers find it from the storefront: home page and the shows page.
    assert f"/shows/{show.pk}/" in Client().get("/").content.decode()
    assert "Sneaker unboxing" in Client().get("/shows/").content.decode()


@pytest.mark.parametrize(
    ("overrides", "field_error"),
    [
        ({"title": "   "}, "This field is required."),
        ({"scheduled_at": "not a date"}, "Enter a valid date/time."),
        ({"scheduled_at": "2001-01-01T10:00"}, "Pick a start time in the future"),
        ({"playback_url": "javascript:alert(1)"}, "Enter an http(s) URL of the stream"),
        ({"playback_url": "//evil.example/x.m3u8"}, "Enter an http(s) URL of the stream"),
        ({"playback_url": ""}, "This field is required."),
        ({"title": "x" * 201}, "at most 200 characters"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_created(
    shops: dict[str, Any], overrides: dict[str, Any], field_error: str
) -> None:
    response = _client(shops["owner"]).post(f"/console/{shops['merchant'].pk}/shows/new/", _form(**overrides))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Please fix the fields marked below." in html
    assert field_error in html
    assert not Show.objects.exists()


def test_staff_of_another_merchant_cannot_create_or_touch_shows(shops: dict[str, Any]) -> None:
    merchant, rival_staff = shops["merchant"], _client(shops["rival_owner"])
    base = f"/console/{merchant.pk}/shows/"
    assert rival_staff.get(base + "new/").status_code == 404
    assert rival_staff.post(base + "new/", _form()).status_code == 404
    assert not Show.objects.exists()
    show = lifecycle.create_show(merchant_id=merchant.pk, title="Ours", playback_url="/x.m3u8",
                                 scheduled_at=timezone.now() + timedelta(hours=3))  # fmt: skip
    assert rival_staff.post(base + f"{show.pk}/edit/", _form(title="Hijacked")).status_code == 404
    assert rival_staff.post(base + f"{show.pk}/cancel/").status_code == 404
    # Nor through their own console with our show's id.
    rival_base = f"/console/{shops['rival'].pk}/shows/"
    assert rival_staff.post(rival_base + f"{show.pk}/edit/", _form(title="Hijacked")).status_code == 404
    assert rival_staff.post(rival_base + f"{show.pk}/cancel/").status_code == 404
    show.refresh_from_db()
    assert (show.title, show.state) == ("Ours", ShowState.SCHEDULED)
    assert Client().post(base + "new/", _form()).status_code == 302  # anonymous: to the login page
    assert Show.objects.count() == 1


def test_scheduled_show_can_be_rescheduled_and_cancelled_but_a_live_one_cannot(shops: dict[str, Any]) -> None:
    merchant, owner = shops["merchant"], _client(shops["owner"])
    base = f"/console/{merchant.pk}/shows/"
    show = lifecycle.create_show(merchant_id=merchant.pk, title="Draft", playback_url="/x.m3u8",
                                 scheduled_at=timezone.now() + timedelta(hours=3))  # fmt: skip
    later = timezone.now() + timedelta(days=3)
    assert owner.get(base + f"{show.pk}/edit/").content.decode().count('value="Draft"') == 1
    edited = owner.post(base + f"{show.pk}/edit/", _form(title="Final", scheduled_at=later.strftime(FMT)))
    assert edited.status_code == 302
    show.refresh_from_db()
    assert (show.title, show.scheduled_at) == ("Final", later.replace(second=0, microsecond=0))
    assert owner.post(base + f"{show.pk}/cancel/").status_code == 302
    show.refresh_from_db()
    assert show.state == ShowState.ENDED

    live = lifecycle.create_show(merchant_id=merchant.pk, title="On air", playback_url="/x.m3u8",
                                 scheduled_at=timezone.now())  # fmt: skip
    lifecycle.go_live(show_id=live.pk, merchant_id=merchant.pk)
    refused = owner.post(base + f"{live.pk}/edit/", _form(title="Changed"), follow=True)
    assert "Only a show that has not started can be edited." in refused.content.decode()
    refused = owner.post(base + f"{live.pk}/cancel/", follow=True)
    assert "Only a show that has not started can be cancelled" in refused.content.decode()
    live.refresh_from_db()
    assert (live.title, live.state) == ("On air", ShowState.LIVE)
    assert owner.get(f"/console/{merchant.pk}/shows/{live.pk}/").status_code == 200  # the host console
    listing = owner.get(base).content.decode()  # live first, then upcoming, ended last
    assert listing.index(f'data-show-row="{live.pk}"') < listing.index(f'data-show-row="{show.pk}"')


def test_update_show_service_refuses_a_live_show(shops: dict[str, Any]) -> None:
    from commerce.shows.errors import InvalidShowTransition

    merchant = shops["merchant"]
    show = lifecycle.create_show(merchant_id=merchant.pk, title="On air", playback_url="/x.m3u8",
                                 scheduled_at=timezone.now())  # fmt: skip
    lifecycle.go_live(show_id=show.pk, merchant_id=merchant.pk)
    with pytest.raises(InvalidShowTransition):
        lifecycle.update_show(show_id=show.pk, merchant_id=merchant.pk, title="x", playback_url="/y.m3u8",
                              scheduled_at=timezone.now())  # fmt: skip
