"""Throttles on sign-up, token, log-in and reserve (commerce/abuse/throttles.py), counted in the real Redis.

The suite runs with throttles off (tests/conftest.py: the race tests send hundreds of buyers from
one address); `throttles` turns them on with small per-day limits, so a window boundary (midnight
UTC) is the only way a burst could be split. Every test uses its own client address and fresh users,
and the counters' keys carry the run's prefix, so tests do not share counts.
"""

import secrets
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from commerce.abuse.models import BuyerFlag, FlagRule
from commerce.abuse.rates import Rate, parse, parse_all
from commerce.models import Reservation
from tests.commerce.conftest import client_for, counters

pytestmark = pytest.mark.django_db

BIG = "100000/d"


@pytest.fixture
def throttles(settings: Any) -> dict[str, str]:
    """Throttles on, every scope generous; a test lowers the one it checks."""
    settings.ABUSE_THROTTLE_ENABLED = True
    settings.ABUSE_NUM_PROXIES = 0
    settings.ABUSE_THROTTLE_RATES = {
        scope: BIG
        for scope in (
            "signup.ip", "token.user", "token.ip", "login.user", "login.ip", "reserve.user", "reserve.ip"
        )
    }  # fmt: skip
    return settings.ABUSE_THROTTLE_RATES


def an_ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def reserve(api: Any, drop_id: int, sku_id: int, ip: str, **headers: str) -> Any:
    return api.post(
        "/api/v1/reservations/",
        {"drop_id": drop_id, "sku_id": sku_id, "quantity": 1},
        format="json",
        REMOTE_ADDR=ip,
        **headers,
    )


def assert_throttled(response: Any) -> int:
    """429, the error shape, a Retry-After header equal to details.retry_after; returns it."""
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "throttled" and error["message"]
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 86400 and error["details"]["retry_after"] == wait
    return wait


def test_reserve_is_throttled_per_buyer_and_nothing_is_reserved(throttles, make_user, make_drop, shop):
    throttles["reserve.user"] = "3/d"
    drop = make_drop(offered=50, limit=50)
    buyer, other = make_user(), make_user()
    ip = an_ip()
    api = client_for(buyer)
    assert [reserve(api, drop.pk, shop["tee"].pk, ip).status_code for _ in range(3)] == [201, 201, 201]
    assert_throttled(reserve(api, drop.pk, shop["tee"].pk, ip))
    # Nothing changed by the refused request: three reservations, three units held.
    assert Reservation.objects.filter(buyer=buyer).count() == 3
    assert counters(drop, shop["tee"]) == (50, 3, 0)
    # Another buyer from the same address is not affected (per-IP limit is generous).
    assert reserve(client_for(other), drop.pk, shop["tee"].pk, ip).status_code == 201
    # The throttled buyer is flagged for this drop.
    flag = BuyerFlag.objects.get(buyer=buyer, rule=FlagRule.THROTTLED)
    assert flag.drop_id == drop.pk and "reserve.user" in flag.reason
    # Reads are not throttled.
    assert api.get("/api/v1/reservations/", REMOTE_ADDR=ip).status_code == 200


def test_reserve_is_throttled_per_ip(throttles, make_user, make_drop, shop):
    throttles["reserve.ip"] = "3/d"
    drop = make_drop(offered=50, limit=5)
    ip = an_ip()
    for _ in range(3):
        assert reserve(client_for(make_user()), drop.pk, shop["tee"].pk, ip).status_code == 201
    late = make_user()
    assert_throttled(reserve(client_for(late), drop.pk, shop["tee"].pk, ip))
    assert not Reservation.objects.filter(buyer=late).exists()
    assert counters(drop, shop["tee"]) == (50, 3, 0)
    # The same buyer from another address gets through.
    assert reserve(client_for(late), drop.pk, shop["tee"].pk, an_ip()).status_code == 201


def test_x_forwarded_for_is_ignored_unless_proxies_are_configured(
    throttles, settings, make_user, make_drop, shop
):
    throttles["reserve.ip"] = "2/d"
    drop = make_drop(offered=50, limit=5)
    proxy = an_ip()
    forged = [
        reserve(client_for(make_user()), drop.pk, shop["tee"].pk, proxy, HTTP_X_FORWARDED_FOR=an_ip())
        for _ in range(3)
    ]
    assert [r.status_code for r in forged[:2]] == [201, 201]
    assert_throttled(forged[2])  # a made-up header does not buy a fresh address
    # Behind one trusted proxy, the address it appended is the client's.
    settings.ABUSE_NUM_PROXIES = 1
    client_ip = an_ip()
    for _ in range(2):
        hop = reserve(
            client_for(make_user()),
            drop.pk,
            shop["tee"].pk,
            proxy,
            HTTP_X_FORWARDED_FOR=f"6.6.6.6, {client_ip}",
        )
        assert hop.status_code == 201
    assert_throttled(
        reserve(
            client_for(make_user()),
            drop.pk,
            shop["tee"].pk,
            proxy,
            HTTP_X_FORWARDED_FOR=f"7.7.7.7, {client_ip}",
        )
    )


def test_token_is_throttled_per_username_tried(throttles):
    throttles["token.user"] = "3/d"
    User.objects.create_user(username="victim", password="right-password-1")
    anonymous, ip = client_for(None), an_ip()
    for _ in range(3):
        wrong = anonymous.post(
            "/api/v1/auth/token/",
            {"username": "Victim", "password": "guess"},
            format="json",
            REMOTE_ADDR=an_ip(),
        )
        assert wrong.status_code == 401
    # From yet another address, even the right password waits: the account is what is counted.
    assert_throttled(
        anonymous.post(
            "/api/v1/auth/token/",
            {"username": "victim", "password": "right-password-1"},
            format="json",
            REMOTE_ADDR=ip,
        )
    )
    User.objects.create_user(username="bystander", password="right-password-2")
    ok = anonymous.post(
        "/api/v1/auth/token/",
        {"username": "bystander", "password": "right-password-2"},
        format="json",
        REMOTE_ADDR=ip,
    )
    assert ok.status_code == 200 and ok.json()["token"]


def test_token_is_throttled_per_ip(throttles):
    throttles["token.ip"] = "2/d"
    anonymous, ip = client_for(None), an_ip()
    for n in range(2):
        body = {"username": f"nobody{n}", "password": "x-password"}
        assert anonymous.post("/api/v1/auth/token/", body, format="json", REMOTE_ADDR=ip).status_code == 401
    assert_throttled(
        anonymous.post(
            "/api/v1/auth/token/", {"username": "n3", "password": "x"}, format="json", REMOTE_ADDR=ip
        )
    )


def test_signup_is_throttled_per_ip_and_creates_nothing(throttles):
    throttles["signup.ip"] = "2/d"
    anonymous, ip = client_for(None), an_ip()
    names = [f"new{secrets.token_hex(4)}" for _ in range(3)]
    for name in names[:2]:
        created = anonymous.post(
            "/api/v1/auth/signup/",
            {"username": name, "password": "s3cret-pass"},
            format="json",
            REMOTE_ADDR=ip,
        )
        assert created.status_code == 201
    assert_throttled(
        anonymous.post(
            "/api/v1/auth/signup/",
            {"username": names[2], "password": "s3cret-pass"},
            format="json",
            REMOTE_ADDR=ip,
        )
    )
    assert not User.objects.filter(username=names[2]).exists()


def test_login_page_is_throttled_per_username(throttles):
    throttles["login.user"] = "2/d"
    User.objects.create_user(username="pageuser", password="right-password-3")
    browser = Client()
    for _ in range(2):
        page = browser.post("/login/", {"username": "pageuser", "password": "wrong"}, REMOTE_ADDR=an_ip())
        assert page.status_code == 200  # the form again, with its error
    refused = browser.post(
        "/login/", {"username": "pageuser", "password": "right-password-3"}, REMOTE_ADDR=an_ip()
    )
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "_auth_user_id" not in browser.session
    as_json = browser.post(
        "/login/",
        {"username": "pageuser", "password": "x"},
        REMOTE_ADDR=an_ip(),
        HTTP_ACCEPT="application/json",
    )
    assert_throttled(as_json)
    assert browser.get("/login/").status_code == 200  # showing the form is not an attempt


def test_throttles_off_lets_everything_through(settings, make_user, make_drop, shop):
    settings.ABUSE_THROTTLE_ENABLED = False
    settings.ABUSE_THROTTLE_RATES = {"reserve.user": "1/d", "reserve.ip": "1/d"}
    drop = make_drop(offered=10, limit=10)
    api, ip = client_for(make_user()), an_ip()
    assert [reserve(api, drop.pk, shop["tee"].pk, ip).status_code for _ in range(3)] == [201, 201, 201]


def test_rates_parse_and_reject_nonsense():
    assert parse("30/m") == Rate(30, 60)
    assert parse("5/10s") == Rate(5, 10)
    assert parse("2/h") == Rate(2, 3600)
    assert parse("") is None and parse("0/m") is None
    for bad in ("30", "x/m", "3/w", "-1/m", "3/m/s"):
        with pytest.raises(ValueError, match="bad rate"):
            parse(bad)


def test_several_rates_of_one_scope_each_count(throttles, make_user, make_drop, shop):
    """ "2/d,100000/d": the tight window refuses the third request from the address, the loose one
    keeps counting on its own key (a burst bound beside a sustained one)."""
    assert parse_all("5/s,600/m") == (Rate(5, 1), Rate(600, 60))
    assert parse_all("") == () and parse_all("0/s,30/m") == (Rate(30, 60),)
    throttles["reserve.ip"] = "2/d,100000/d"
    drop = make_drop(offered=50, limit=50)
    ip = an_ip()
    assert [reserve(client_for(make_user()), drop.pk, shop["tee"].pk, ip).status_code for _ in range(2)] == [
        201,
        201,
    ]
    assert_throttled(reserve(client_for(make_user()), drop.pk, shop["tee"].pk, ip))
    assert counters(drop, shop["tee"]) == (50, 2, 0)
    # Another address is not affected.
    assert reserve(client_for(make_user()), drop.pk, shop["tee"].pk, an_ip()).status_code == 201


def test_the_cache_keeps_one_redis_client_per_pool():
    """config/cache.py: the same client object serves every call (no constructor per request)."""
    from django.core.cache import cache

    first = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    assert cache._cache.get_client(write=True) is first  # type: ignore[attr-defined]
    key = f"test-cache-{secrets.token_hex(4)}"
    assert cache.add(key, 1, timeout=10) and not cache.add(key, 2, timeout=10) and cache.get(key) == 1
    cache.delete(key)


def test_throttles_fail_open_when_redis_is_unreachable(throttles, settings, make_user, make_drop, shop):
    """Losing the cache must not turn reserves into 500s: nothing is counted, stock rules still hold."""
    throttles["reserve.user"] = "1/d"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    drop = make_drop(offered=10, limit=2)
    api, ip = client_for(make_user()), an_ip()
    statuses = [reserve(api, drop.pk, shop["tee"].pk, ip).status_code for _ in range(3)]
    assert statuses == [201, 201, 409]  # the per-buyer limit (PostgreSQL) still refuses the third
    assert counters(drop, shop["tee"]) == (10, 2, 0)
