"""Merchant roles: staff run drops and shows and ship; only owners refund, change payouts, manage members
and collections. Every merchant endpoint is checked (discovered from the URL conf, so a new one is too)."""

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from commerce.models import MerchantMembership, MerchantRole, Shipment, ShipmentStatus
from commerce.services import catalog, members, shipments
from tests.commerce.conftest import client_for
from tests.commerce.test_shipments import _paid_order, checkout  # noqa: F401  (fixture)

MERCHANT_PREFIX = "api/v1/merchants/<int:merchant_id>/"
# (route name, method) that staff may not use. Everything else under MERCHANT_PREFIX is open to staff.
OWNER_ONLY = {
    ("merchant-settings", "PATCH"),  # payouts
    ("merchant-members", "POST"),
    ("merchant-member", "PATCH"),
    ("merchant-member", "DELETE"),
    ("merchant-collections", "POST"),
    ("merchant-collection-challenges", "POST"),  # the first step of registering a collection
    ("merchant-shipment-cannot-ship", "POST"),  # refunds the lines
    ("merchant-stripe-onboarding-link", "POST"),  # where the money goes
    ("merchant-money", "GET"),  # balance and payouts
    ("merchant-money-csv", "GET"),
}
# What an owner gets from an owner-only endpoint called with an empty body on the test shop (settled on
# the platform account): reads answer 200, onboarding a platform-settled shop is a 409.
OWNER_ANSWERS = {
    ("merchant-money", "GET"): (200,),
    ("merchant-money-csv", "GET"): (200,),
    ("merchant-stripe-onboarding-link", "POST"): (409,),
}


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern), p


def merchant_endpoints() -> list[tuple[str, str, str]]:
    """(route name, method, route) of every API endpoint under /api/v1/merchants/<id>/."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith(MERCHANT_PREFIX):
            continue
        view = pattern.callback.view_class  # type: ignore[attr-defined]
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                found.append((str(pattern.name), method.upper(), route))
    return found


ENDPOINTS = merchant_endpoints()


def _concrete(route: str, merchant_id: int, other_id: int) -> str:
    url = "/" + route.replace("<int:merchant_id>", str(merchant_id))
    return re.sub(r"<int:\w+>", str(other_id), url)


@pytest.fixture
def staff(shop: dict[str, Any], make_user: Callable[..., User]) -> User:
    user = make_user("staffer")
    catalog.add_member(merchant_id=shop["merchant"].pk, user=user, role=MerchantRole.STAFF)
    return user


def _error_shape(response: Any, code: str) -> bool:
    body = response.json()
    return (
        set(body) == {"error"}
        and body["error"]["code"] == code
        and set(body["error"])
        == {
            "code",
            "message",
            "details",
        }
    )


def test_the_owner_only_table_names_real_endpoints() -> None:
    names = {(name, method) for name, method, _ in ENDPOINTS}
    assert names >= OWNER_ONLY, OWNER_ONLY - names
    assert len(ENDPOINTS) >= 25  # commerce, shipping and show host endpoints are all discovered


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "route"), ENDPOINTS, ids=[f"{m} {n}" for n, m, _ in ENDPOINTS])
def test_staff_is_allowed_or_403_owner_required(
    name: str, method: str, route: str, shop: dict[str, Any], staff: User, make_user: Callable[..., User]
) -> None:
    merchant_id = shop["merchant"].pk
    url = _concrete(route, merchant_id, shop["owner"].pk if "member" in name else 987654)
    response = client_for(staff).generic(method, url, "{}", content_type="application/json")
    if (name, method) in OWNER_ONLY:
        assert response.status_code == 403 and _error_shape(response, "owner_required"), response.content
    else:
        assert response.status_code != 403, response.content
        assert response.status_code < 500
    # A stranger learns nothing (404), an anonymous caller must authenticate (401).
    stranger = client_for(make_user("stranger")).generic(method, url, "{}", content_type="application/json")
    assert stranger.status_code == 404 and _error_shape(stranger, "not_found")
    anonymous = client_for(None).generic(method, url, "{}", content_type="application/json")
    assert anonymous.status_code == 401 and _error_shape(anonymous, "not_authenticated")


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), sorted(OWNER_ONLY))
def test_owner_passes_the_role_check(name: str, method: str, shop: dict[str, Any]) -> None:
    route = next(r for n, m, r in ENDPOINTS if (n, m) == (name, method))
    url = _concrete(route, shop["merchant"].pk, 987654)
    response = client_for(shop["owner"]).generic(method, url, "{}", content_type="application/json")
    expected = OWNER_ANSWERS.get((name, method), (400, 404))  # bad body / unknown id, never 403
    assert response.status_code in expected, response.content


@pytest.mark.django_db
def test_staff_refunding_a_real_shipment_is_403_and_changes_nothing(
    checkout: Any,  # noqa: F811
    shop: dict[str, Any],
    staff: User,
) -> None:
    order = _paid_order(checkout, "tee")
    shipment = shipments.create_order_shipment(order_id=order.pk)
    assert shipment is not None
    url = f"/api/v1/merchants/{shop['merchant'].pk}/shipments/{shipment.pk}/cannot-ship/"
    response = client_for(staff).post(url, {"reason": "lost it"}, format="json")
    assert response.status_code == 403 and _error_shape(response, "owner_required")
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.PENDING
    from commerce.payments.models import Refund

    assert not Refund.objects.exists()
    # Staff still ship it.
    ship = client_for(staff).post(
        url.replace("cannot-ship", "ship"), {"carrier": "dhl", "tracking_number": "T1"}, format="json"
    )
    assert ship.status_code == 200, ship.content


# --- member management -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_owner_invites_promotes_demotes_and_removes(
    shop: dict[str, Any], make_user: Callable[..., User]
) -> None:
    merchant_id, owner = shop["merchant"].pk, shop["owner"]
    bob = make_user("bob")
    api = client_for(owner)
    base = f"/api/v1/merchants/{merchant_id}/members/"
    added = api.post(base, {"username": "bob"}, format="json")
    assert added.status_code == 201 and added.json()["role"] == "staff"
    listing = api.get(base).json()
    assert [(m["username"], m["role"]) for m in listing] == [("owner", "owner"), ("bob", "staff")]
    again = api.post(base, {"username": "bob", "role": "owner"}, format="json")
    assert again.status_code == 409 and _error_shape(again, "already_member")

    promoted = api.patch(f"{base}{bob.pk}/", {"role": "owner"}, format="json")
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    # bob, now owner, may demote the first owner, then cannot step down himself (last owner).
    assert client_for(bob).patch(f"{base}{owner.pk}/", {"role": "staff"}, format="json").status_code == 200
    last = client_for(bob).patch(f"{base}{bob.pk}/", {"role": "staff"}, format="json")
    assert last.status_code == 409 and _error_shape(last, "last_owner")
    gone = client_for(bob).delete(f"{base}{bob.pk}/")
    assert gone.status_code == 409 and _error_shape(gone, "last_owner")
    # The demoted first owner is staff now: member management is closed to him.
    assert client_for(owner).delete(f"{base}{bob.pk}/").status_code == 403
    assert client_for(bob).delete(f"{base}{owner.pk}/").status_code == 204
    assert list(
        MerchantMembership.objects.filter(merchant_id=merchant_id).values_list("user_id", "role")
    ) == [(bob.pk, "owner")]
    assert client_for(owner).get(base).status_code == 404  # no longer a member at all


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "validation_error"),
        ({"username": ""}, 400, "validation_error"),
        ({"username": "x" * 151}, 400, "validation_error"),
        ({"username": ["bob"]}, 400, "validation_error"),
        ({"username": "bob", "role": "admin"}, 400, "validation_error"),
        ({"username": "bob", "role": 1}, 400, "validation_error"),
        ({"username": "nobody-here"}, 404, "not_found"),
    ],
)
def test_bad_invites_are_refused_and_add_no_one(
    body: dict[str, Any], status: int, code: str, shop: dict[str, Any], make_user: Callable[..., User]
) -> None:
    make_user("bob")
    response = client_for(shop["owner"]).post(
        f"/api/v1/merchants/{shop['merchant'].pk}/members/", body, format="json"
    )
    assert response.status_code == status and _error_shape(response, code), response.content
    assert MerchantMembership.objects.filter(merchant=shop["merchant"]).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "user_id", "status", "code"),
    [
        ({}, None, 400, "validation_error"),
        ({"role": "king"}, None, 400, "validation_error"),
        ({"role": None}, None, 400, "validation_error"),
        ({"role": "staff"}, 987654, 404, "not_found"),
        ({"role": "staff"}, 10**30, 404, "not_found"),
    ],
)
def test_bad_role_changes_are_refused(
    body: dict[str, Any], user_id: int | None, status: int, code: str, shop: dict[str, Any], staff: User
) -> None:
    url = f"/api/v1/merchants/{shop['merchant'].pk}/members/{user_id or staff.pk}/"
    response = client_for(shop["owner"]).patch(url, body, format="json")
    assert response.status_code == status and _error_shape(response, code), response.content
    assert MerchantMembership.objects.get(user=staff).role == "staff"


# --- payouts ---------------------------------------------------------------------------------------
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.mark.django_db
def test_only_owners_change_the_payout_address(shop: dict[str, Any], staff: User) -> None:
    url = f"/api/v1/merchants/{shop['merchant'].pk}/"
    assert client_for(staff).get(url).json()["payout_address"] == ""
    refused = client_for(staff).patch(url, {"payout_address": ADDRESS}, format="json")
    assert refused.status_code == 403 and _error_shape(refused, "owner_required")
    ok = client_for(shop["owner"]).patch(
        url, {"payout_address": ADDRESS.lower(), "royalty_bps": 250}, format="json"
    )
    assert (
        ok.status_code == 200 and ok.json()["payout_address"] == ADDRESS and ok.json()["royalty_bps"] == 250
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"payout_address": "0x123"},
        {"payout_address": ADDRESS + "00"},
        {"payout_address": 12},
        {"payout_address": ADDRESS, "royalty_bps": 10_001},
        {"payout_address": ADDRESS, "royalty_bps": "lots"},
    ],
)
def test_bad_payout_input_is_400_and_changes_nothing(body: dict[str, Any], shop: dict[str, Any]) -> None:
    url = f"/api/v1/merchants/{shop['merchant'].pk}/"
    response = client_for(shop["owner"]).patch(url, body, format="json")
    assert response.status_code == 400 and _error_shape(response, "validation_error"), response.content
    shop["merchant"].refresh_from_db()
    assert shop["merchant"].payout_address == "" and shop["merchant"].royalty_bps == 500


# --- the last owner, under concurrency --------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    shop: dict[str, Any], make_user: Callable[..., User]
) -> None:
    assert connection.vendor == "postgresql"
    merchant_id, first = shop["merchant"].pk, shop["owner"]
    second = make_user("second")
    catalog.add_member(merchant_id=merchant_id, user=second, role=MerchantRole.OWNER)
    barrier = threading.Barrier(2)

    def demote(user: User) -> str:
        try:
            barrier.wait()
            members.change_member_role(merchant_id=merchant_id, user_id=user.pk, role=MerchantRole.STAFF)
            return "ok"
        except Exception as exc:
            return getattr(exc, "code", repr(exc))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(demote, [first, second]))
    assert results == ["last_owner", "ok"]
    assert MerchantMembership.objects.filter(merchant_id=merchant_id, role=MerchantRole.OWNER).count() == 1
