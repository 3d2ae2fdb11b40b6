"""API tokens (django-rest-knox): issued with an expiry, listed, revoked; expired or revoked -> 401."""

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from commerce.services.tokens import purge_expired_tokens
from tests.tokens import issue_token

pytestmark = pytest.mark.django_db


def _with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _is_401(response: Any) -> bool:
    body = response.json()
    return response.status_code == 401 and set(body["error"]) == {"code", "message", "details"}


@pytest.fixture
def account() -> User:
    return User.objects.create_user(username="alice", password="correct horse battery")


def test_login_issues_an_expiring_token_that_is_stored_as_a_digest(account: User, settings: Any) -> None:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "alice", "password": "correct horse battery"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    key = body["token"]
    row = AuthToken.objects.get(user=account)
    assert row.token_key == body["token_id"] == key[: len(row.token_key)]
    assert key not in row.digest  # only the digest is stored
    lifetime = row.expiry - row.created
    assert (
        timedelta(seconds=settings.API_TOKEN_TTL_SECONDS - 5)
        < lifetime
        <= timedelta(seconds=settings.API_TOKEN_TTL_SECONDS)
    )
    assert _with(key).get("/api/v1/orders/").status_code == 200


def test_tokens_are_listed_and_one_revoked_is_refused_with_401(account: User, settings: Any) -> None:
    settings.API_TOKEN_CACHE_SECONDS = 10  # revocation must also clear this process's cache
    phone, laptop = issue_token(account), issue_token(account)
    assert _with(laptop).get("/api/v1/orders/").status_code == 200  # now cached
    listing = _with(phone).get("/api/v1/tokens/").json()
    assert len(listing) == 2 and [t["current"] for t in listing].count(True) == 1
    current = next(t for t in listing if t["current"])
    assert phone.startswith(current["id"]) and "token" not in current
    other = next(t for t in listing if not t["current"])["id"]

    assert _with(phone).delete(f"/api/v1/tokens/{other}/").status_code == 204
    refused = _with(laptop).get("/api/v1/orders/")
    assert _is_401(refused) and refused.json()["error"]["code"] == "authentication_failed"
    assert refused["WWW-Authenticate"] == "Token"
    assert _with(phone).get("/api/v1/orders/").status_code == 200


def test_logout_revokes_the_current_token_and_all_revokes_every_one(account: User) -> None:
    first, second, third = (issue_token(account) for _ in range(3))
    assert _with(first).post("/api/v1/auth/logout/").status_code == 204
    assert _is_401(_with(first).get("/api/v1/orders/"))
    assert _with(second).get("/api/v1/orders/").status_code == 200
    assert _with(second).post("/api/v1/auth/logout/?all=1").status_code == 204
    assert _is_401(_with(second).get("/api/v1/orders/")) and _is_401(_with(third).get("/api/v1/orders/"))


def test_expired_token_is_refused_with_401(account: User, settings: Any) -> None:
    settings.API_TOKEN_CACHE_SECONDS = 0
    key = issue_token(account)
    AuthToken.objects.filter(user=account).update(expiry=timezone.now() - timedelta(seconds=1))
    response = _with(key).get("/api/v1/orders/")
    assert _is_401(response) and response.json()["error"]["message"] == "Token expired."
    assert _with(key).get("/api/v1/tokens/").status_code == 401
    assert purge_expired_tokens() == 1 and not AuthToken.objects.exists()


def test_a_cached_token_stops_working_when_it_expires(account: User, settings: Any) -> None:
    """The process cache never outlives the token (polls until the expiry passes; no fixed sleep)."""
    settings.API_TOKEN_CACHE_SECONDS = 3600
    key = issue_token(account)
    AuthToken.objects.filter(user=account).update(expiry=timezone.now() + timedelta(seconds=1))
    client = _with(key)
    deadline = time.monotonic() + 30
    statuses = []
    while time.monotonic() < deadline:
        statuses.append(client.get("/api/v1/orders/").status_code)
        if statuses[-1] == 401:
            break
        time.sleep(0.05)
    assert statuses[0] == 200 and statuses[-1] == 401


def test_per_user_cap_drops_the_oldest_token(account: User, settings: Any) -> None:
    settings.API_TOKEN_MAX_PER_USER = 2
    oldest, _newer, newest = (issue_token(account) for _ in range(3))
    assert AuthToken.objects.filter(user=account).count() == 2
    assert _is_401(_with(oldest).get("/api/v1/orders/"))
    assert _with(newest).get("/api/v1/orders/").status_code == 200


def test_someone_elses_token_cannot_be_seen_or_revoked(account: User, make_user: Callable[..., User]) -> None:
    mine, theirs = issue_token(account), issue_token(make_user("bob"))
    their_id = AuthToken.objects.get(user__username="bob").token_key
    assert [t["id"] for t in _with(mine).get("/api/v1/tokens/").json()] == [mine[: len(their_id)]]
    response = _with(mine).delete(f"/api/v1/tokens/{their_id}/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert _with(theirs).get("/api/v1/orders/").status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Token", "Token a b", "Token " + "x" * 5000, "Token \u00e9\u00e9\u00e9", "Token 0123456789abcdef" * 4],
)
def test_malformed_token_headers_are_401_with_the_error_shape(header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert _is_401(client.get("/api/v1/orders/"))


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "alice"},
        {"username": ["alice"], "password": "x"},
        {"username": "a" * 151, "password": "x"},
        {"username": "alice", "password": "p" * 129},
        {"username": "alice", "password": {"x": 1}},
    ],
)
def test_bad_login_input_is_400_with_the_error_shape(account: User, body: dict[str, Any]) -> None:
    response = APIClient().post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
    assert not AuthToken.objects.exists()


def test_token_endpoints_need_credentials_and_ignore_junk_ids(account: User) -> None:
    for method, url in [
        ("get", "/api/v1/tokens/"),
        ("post", "/api/v1/auth/logout/"),
        ("post", "/api/v1/ws-tickets/"),
    ]:
        assert _is_401(getattr(APIClient(), method)(url))
    key = issue_token(account)
    for junk in ["x" * 500, "%00", "'; drop table knox_authtoken; --"]:
        response = _with(key).delete(f"/api/v1/tokens/{junk}/")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert _with(key).get("/api/v1/orders/").status_code == 200
