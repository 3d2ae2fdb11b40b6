"""Console *Team & payouts*: owners invite, promote, demote and remove (one owner always remains) and set
the payout address; staff see the team but change nothing, and cannot cancel-and-refund a shipment."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from commerce.models import MerchantMembership, MerchantRole
from commerce.services import catalog

pytestmark = pytest.mark.django_db
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.fixture
def team() -> dict[str, Any]:
    owner = User.objects.create_user("team-owner", password=None)
    staff = User.objects.create_user("team-staff", password=None)
    User.objects.create_user("newcomer", password=None)
    merchant = catalog.create_merchant(name="Team Shop", slug="team-shop", owner=owner)
    catalog.add_member(merchant_id=merchant.pk, user=staff, role=MerchantRole.STAFF)
    return {"owner": owner, "staff": staff, "merchant": merchant, "url": f"/console/{merchant.pk}/team/"}


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _roles(merchant: Any) -> dict[str, str]:
    rows = MerchantMembership.objects.filter(merchant=merchant).values_list("user__username", "role")
    return dict(rows)


def test_owner_manages_the_team_and_payouts(team: dict[str, Any]) -> None:
    owner, url = _client(team["owner"]), team["url"]
    page = owner.get(url)
    assert page.status_code == 200 and b"data-invite" in page.content and b"team-staff" in page.content
    assert owner.post(url, {"action": "invite", "username": "newcomer", "role": "staff"}).status_code == 302
    staff_id = team["staff"].pk
    assert owner.post(url, {"action": "role", "user_id": staff_id, "role": "owner"}).status_code == 302
    assert (
        owner.post(url, {"action": "remove", "user_id": User.objects.get(username="newcomer").pk}).status_code
        == 302
    )
    assert _roles(team["merchant"]) == {"team-owner": "owner", "team-staff": "owner"}
    saved = owner.post(url, {"action": "payout", "payout_address": ADDRESS, "royalty_bps": "300"})
    assert saved.status_code == 302
    team["merchant"].refresh_from_db()
    assert (team["merchant"].payout_address, team["merchant"].royalty_bps) == (ADDRESS, 300)


def test_the_last_owner_cannot_step_down_in_the_console(team: dict[str, Any]) -> None:
    owner = _client(team["owner"])
    response = owner.post(team["url"], {"action": "role", "user_id": team["owner"].pk, "role": "staff"})
    assert response.status_code == 400 and b"at least one owner" in response.content
    response = owner.post(team["url"], {"action": "remove", "user_id": team["owner"].pk})
    assert response.status_code == 400
    assert _roles(team["merchant"])["team-owner"] == "owner"


@pytest.mark.parametrize(
    "form",
    [
        {"action": "invite", "username": "x" * 151},
        {"action": "invite", "username": "nobody"},
        {"action": "invite", "username": "newcomer", "role": "emperor"},
        {"action": "role", "user_id": "abc", "role": "owner"},
        {"action": "role", "user_id": str(10**30), "role": "owner"},
        {"action": "payout", "payout_address": "0x12", "royalty_bps": "1"},
        {"action": "payout", "payout_address": ADDRESS, "royalty_bps": "99999"},
        {"action": "explode"},
        {},
    ],
)
def test_bad_console_input_is_explained_and_changes_nothing(
    team: dict[str, Any], form: dict[str, str]
) -> None:
    before = _roles(team["merchant"])
    response = _client(team["owner"]).post(team["url"], form)
    assert response.status_code == 400 and b'class="alert error"' in response.content
    assert _roles(team["merchant"]) == before
    team["merchant"].refresh_from_db()
    assert team["merchant"].payout_address == ""


def test_staff_see_the_team_but_change_nothing(team: dict[str, Any]) -> None:
    staff, url = _client(team["staff"]), team["url"]
    page = staff.get(url)
    assert (
        page.status_code == 200 and b"data-staff-note" in page.content and b"data-invite" not in page.content
    )
    for form in (
        {"action": "invite", "username": "newcomer"},
        {"action": "role", "user_id": team["staff"].pk, "role": "owner"},
        {"action": "remove", "user_id": team["owner"].pk},
        {"action": "payout", "payout_address": ADDRESS, "royalty_bps": "0"},
    ):
        assert staff.post(url, form).status_code == 403
    assert _roles(team["merchant"]) == {"team-owner": "owner", "team-staff": "staff"}
    outsider = User.objects.create_user("outsider", password=None)
    assert _client(outsider).get(url).status_code == 404


def test_staff_cannot_cancel_and_refund_a_shipment_from_the_console(team: dict[str, Any]) -> None:
    url = f"/console/{team['merchant'].pk}/shipments/1/cannot-ship/"
    response = _client(team["staff"]).post(url, {"reason": "lost"}, follow=True)
    assert b"only an owner can cancel a shipment" in response.content
