"""The auction REST API: bids with clear errors for bad input (no state change), host controls and roles."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from commerce.auctions.models import Auction, Bid
from commerce.models import MerchantMembership, MerchantRole
from commerce.shows.models import Show, ShowMute
from tests.auctions.conftest import move_end
from tests.shows.conftest import api

pytestmark = pytest.mark.django_db


def _bid(user: User | None, auction_id: int, body: Any) -> Any:
    return api(user).post(f"/api/v1/auctions/{auction_id}/bids/", body, format="json")


def test_bids_over_rest_and_every_bad_input_is_a_clear_error(
    start_auction: Callable[..., Auction],
    make_user: Callable[..., User],
    live_show: Show,
    shop: dict[str, Any],
) -> None:
    auction = start_auction(starting_price=1000, increments=[[0, 100]])
    alice, bob, muted = make_user("alice"), make_user("bob"), make_user("muted")
    ShowMute.objects.create(show=live_show, user=muted, muted_by=shop["owner"])
    ok = _bid(alice, auction.pk, {"amount": 1000})
    assert ok.status_code == 201, ok.json()
    assert ok.json()["leading"] is True and ok.json()["auction"]["current_bid"] == 1000
    cases: list[tuple[User | None, int, Any, int, str]] = [
        (bob, auction.pk, {"amount": 1050}, 409, "bid_too_low"),
        (bob, auction.pk, {"amount": "1200"}, 400, "bid_invalid"),
        (bob, auction.pk, {"amount": "twelve"}, 400, "bid_invalid"),
        (bob, auction.pk, {"amount": -1200}, 400, "bid_invalid"),
        (bob, auction.pk, {"amount": 12.5}, 400, "bid_invalid"),
        (bob, auction.pk, {}, 400, "bid_invalid"),
        (bob, auction.pk, [1200], 400, "bid_invalid"),
        (bob, auction.pk, {"amount": 1200, "max_amount": 1100}, 400, "bid_invalid"),
        (None, auction.pk, {"amount": 1200}, 401, "bid_not_authenticated"),
        (muted, auction.pk, {"amount": 1200}, 403, "bidder_muted"),
        (shop["owner"], auction.pk, {"amount": 1200}, 403, "host_cannot_bid"),
        (alice, auction.pk, {"amount": 1200}, 409, "already_leading"),
        (bob, 987654, {"amount": 1200}, 404, "auction_not_found"),
    ]
    for user, auction_id, body, status, code in cases:
        res = _bid(user, auction_id, body)
        assert (res.status_code, res.json()["error"]["code"]) == (status, code), (body, res.json())
        assert set(res.json()["error"]) >= {"code", "message", "details"}
    move_end(auction, -1)
    late = _bid(bob, auction.pk, {"amount": 5000})
    assert (late.status_code, late.json()["error"]["code"]) == (409, "auction_not_open")
    assert list(Bid.objects.filter(auction=auction).values_list("amount", flat=True)) == [1000]
    detail = api(alice).get(f"/api/v1/auctions/{auction.pk}/").json()
    assert detail["you"]["leading"] is True and detail["recent_bids"][0]["amount"] == 1000
    show = api(None).get(f"/api/v1/shows/{live_show.pk}/auction/").json()
    assert show["auction"]["id"] == auction.pk and show["giveaway"] is None


def test_host_starts_auctions_and_giveaways_staff_too_strangers_never(
    live_show: Show, shop: dict[str, Any], make_user: Callable[..., User]
) -> None:
    m = shop["merchant"].pk
    staff, stranger = make_user("staff"), make_user("stranger")
    MerchantMembership.objects.create(merchant=shop["merchant"], user=staff, role=MerchantRole.STAFF)
    base = f"/api/v1/merchants/{m}/shows/{live_show.pk}/auctions/"
    body = {"starting_price": 1000, "duration_seconds": 30, "product_id": shop["tee"].pk}
    assert api(stranger).post(base, body, format="json").status_code == 404
    bad = api(staff).post(base, {**body, "increments": [[5, 100]]}, format="json")
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_auction_data")
    bad = api(staff).post(base, {**body, "reserve_price": 500}, format="json")
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_auction_data")
    made = api(staff).post(base, body, format="json")
    assert made.status_code == 201, made.json()
    auction_id = made.json()["id"]
    assert made.json()["state"] == "open" and made.json()["product_id"] == shop["tee"].pk
    again = api(staff).post(base, body, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "auction_already_open")
    assert api(staff).get(f"/api/v1/merchants/{m}/auctions/{auction_id}/").status_code == 200
    assert api(stranger).get(f"/api/v1/merchants/{m}/auctions/{auction_id}/").status_code == 404
    rival = f"/api/v1/merchants/{shop['rival'].pk}/auctions/{auction_id}/"
    assert api(shop["rival_owner"]).get(rival).status_code == 404

    g = api(staff).post(
        f"/api/v1/merchants/{m}/shows/{live_show.pk}/giveaways/", {"title": "Mug"}, format="json"
    )
    assert g.status_code == 201 and g.json()["seed"] is None
    empty = api(staff).post(f"/api/v1/merchants/{m}/giveaways/{g.json()['id']}/draw/", {}, format="json")
    assert (empty.status_code, empty.json()["error"]["code"]) == (409, "giveaway_no_entrants")
    assert api(None).get(f"/api/v1/giveaways/{g.json()['id']}/").json()["seed_hash"] == g.json()["seed_hash"]
