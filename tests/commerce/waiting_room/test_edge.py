"""Waiting-room joins and polls answered in front of Django (commerce/waiting_room/edge.py).

The edge is the real WSGI middleware in front of a recorder standing for Django; the full stack is
Django's test client (same middleware, DRF view). For the same request both must give the same
status, body and headers (the edge's answer is the API's answer), and the edge must leave to
Django what it cannot answer itself.
"""

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core import signing
from django.db import DatabaseError

from commerce.waiting_room import edge, tokens
from commerce.waiting_room import services as rooms
from tests.commerce.conftest import client_for
from tests.commerce.test_reserve_edge import Downstream as Django  # answers 201: "Django was reached"
from tests.commerce.test_reserve_edge import web_process_entry

pytestmark = pytest.mark.django_db

# A per-response value: when the join reached the server.
_PER_RESPONSE = ("arrived_at_us",)


def auth_of(client: Any) -> str:
    """The `Authorization` header client_for gave this client."""
    return str(client._credentials["HTTP_AUTHORIZATION"])


def through_edge(
    app: Callable[..., Any], path: str, *, method: str = "GET", auth: str | None = None, **environ: str
) -> tuple[int, dict[str, str], Any]:
    """One WSGI request through `app`: (status, headers, JSON body or None)."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "testserver",
        "SERVER_PORT": "80", "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", **environ,
    }  # fmt: skip
    if auth is not None:
        env["HTTP_AUTHORIZATION"] = auth
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    raw = b"".join(app(env, start_response))
    body = json.loads(raw) if raw else None
    return seen["status"], seen["headers"], body


def through_django(client: Any, path: str, method: str = "GET") -> tuple[int, dict[str, str], Any]:
    response = client.post(path) if method == "POST" else client.get(path)
    return response.status_code, dict(response.headers), response.json()


def _without(body: dict[str, Any]) -> dict[str, Any]:
    """The body without per-response values; an admission token by what it grants.

    django.core.signing stamps each signature with the second it was made, so two reads of one
    admission a second boundary apart differ in text while granting the same (same jti).
    """
    kept = {k: v for k, v in body.items() if k not in _PER_RESPONSE}
    if kept.get("admission_token"):
        kept["admission_token"] = signing.loads(kept["admission_token"], salt=tokens.SALT)
    return kept


def assert_same_answer(
    edge_answer: tuple[int, dict[str, str], Any], django_answer: tuple[int, dict[str, str], Any]
) -> None:
    e_status, e_headers, e_body = edge_answer
    d_status, d_headers, d_body = django_answer
    assert e_status == d_status, (e_body, d_body)
    assert _without(e_body) == _without(d_body)
    assert set(e_body) == set(d_body)
    # Same headers and values; the length only where the body has no per-response value.
    skip = {"Content-Length"}
    assert {k: v for k, v in e_headers.items() if k not in skip} == {
        k: v for k, v in d_headers.items() if k not in skip
    }


@pytest.fixture
def buyer(make_user):
    user = make_user()
    client = client_for(user)
    return user, client, auth_of(client)


def test_join_and_poll_give_the_api_s_answer_without_reaching_django(
    private_redis, queued_drop, buyer, make_user
):
    drop = queued_drop(offered=5, limit=1, rate=1)
    path = f"/api/v1/drops/{drop.pk}/queue/"
    user, client, auth = buyer
    django = Django()
    app = edge.QueueEdge(django)

    # Joined through the edge, then the same join again through Django (idempotent: the same place).
    joined = through_edge(app, path, method="POST", auth=auth)
    assert joined[0] == 200 and joined[2]["status"] == "queued" and joined[2]["arrived_at_us"] > 0
    assert_same_answer(joined, through_django(client, path, "POST"))
    # A second buyer behind: polled while queued, then while admitted (a token for this buyer and drop).
    second = make_user()
    assert through_edge(app, path, method="POST", auth=auth_of(client_for(second)))[2]["ticket"] == 2
    polled = through_edge(app, path, auth=auth)
    assert (polled[2]["status"], polled[2]["position"]) == ("queued", 1)
    assert_same_answer(polled, through_django(client, path))
    assert rooms.tick(drop_id=drop.pk).admitted == [user.pk]  # rate 1/s: the first in line only
    admitted = through_edge(app, path, auth=auth)
    assert admitted[2]["status"] == "admitted"
    assert_same_answer(admitted, through_django(client, path))
    grant = tokens.check(admitted[2]["admission_token"], drop_id=drop.pk, buyer_id=user.pk)
    assert grant.buyer_id == user.pk
    assert django.reached == 0


def test_refusals_give_the_api_s_error_answer(private_redis, queued_drop, make_drop, buyer):
    _, client, auth = buyer
    app = edge.QueueEdge(Django())
    unqueued = make_drop(offered=5, limit=1)
    rooms.configure(drop_id=unqueued.pk, merchant_id=unqueued.merchant_id, mode="off")
    for path, method in [
        ("/api/v1/drops/999999999/queue/", "GET"),  # no such drop: 404
        (f"/api/v1/drops/{unqueued.pk}/queue/", "POST"),  # no waiting room: reserve directly
    ]:
        at_edge = through_edge(app, path, method=method, auth=auth)
        assert at_edge[0] in (404, 409) and set(at_edge[2]["error"]) == {"code", "message", "details"}
        assert_same_answer(at_edge, through_django(client, path, method))


def test_redis_gone_answers_paused_with_retry_after_as_the_api_does(private_redis, queued_drop, buyer):
    drop = queued_drop(offered=5, limit=1)
    path = f"/api/v1/drops/{drop.pk}/queue/"
    _, client, auth = buyer
    app = edge.QueueEdge(Django())
    assert through_edge(app, path, method="POST", auth=auth)[0] == 200
    private_redis.kill()
    paused = through_edge(app, path, auth=auth)
    assert paused[0] == 503 and paused[2]["error"]["code"] == "waiting_room_paused"
    assert paused[1]["Retry-After"] == str(rooms.RETRY_AFTER_SECONDS)
    assert_same_answer(paused, through_django(client, path))


@pytest.mark.parametrize(
    "case",
    ["no credentials", "unknown token", "another scheme", "three words", "other path", "other method", "edge off",
     "would redirect to https"],
)  # fmt: skip
def test_what_the_edge_cannot_answer_goes_on_to_django(case, private_redis, queued_drop, buyer, settings):
    drop = queued_drop(offered=5, limit=1)
    _, _, auth = buyer
    path, method = f"/api/v1/drops/{drop.pk}/queue/", "GET"
    if case == "no credentials":
        auth = None
    elif case == "unknown token":
        auth = "Token " + "0" * 64
    elif case == "another scheme":
        auth = auth.replace("Token", "Bearer")
    elif case == "three words":
        auth += " extra"
    elif case == "other path":
        path = f"/api/v1/drops/{drop.pk}/"
    elif case == "other method":
        method = "DELETE"
    elif case == "edge off":
        settings.COMMERCE_WAITING_ROOM_EDGE = False
    elif case == "would redirect to https":
        settings.SECURE_SSL_REDIRECT = True
    django = Django()
    assert through_edge(edge.QueueEdge(django), path, method=method, auth=auth)[0] == 201
    assert django.reached == 1


@pytest.mark.parametrize("error", [DatabaseError("connection lost"), RuntimeError("a bug")])
def test_a_database_error_or_a_bug_leaves_the_request_to_django(
    error, private_redis, queued_drop, buyer, monkeypatch
):
    drop = queued_drop(offered=5, limit=1)
    _, _, auth = buyer

    def broken(**kwargs: Any) -> dict[str, Any]:
        raise error

    monkeypatch.setattr(rooms, "queue_status", broken)
    django = Django()
    assert through_edge(edge.QueueEdge(django), f"/api/v1/drops/{drop.pk}/queue/", auth=auth)[0] == 201
    assert django.reached == 1


@pytest.mark.django_db(transaction=True)  # the real chain: Django's request signals manage connections
def test_the_web_process_entry_answers_joins_at_the_edge_and_the_rest_through_django(
    private_redis, queued_drop, buyer, monkeypatch
):
    wsgi = web_process_entry(monkeypatch)
    drop = queued_drop(offered=5, limit=1)
    path = f"/api/v1/drops/{drop.pk}/queue/"
    _, _, auth = buyer
    status, _, body = through_edge(wsgi.application, path, method="POST", auth=auth)
    assert (status, body["status"], body["ticket"]) == (200, "queued", 1) and body["arrived_at_us"] > 0
    status, headers, body = through_edge(wsgi.application, path)  # no credentials: Django's 401
    assert status == 401 and body["error"]["code"] == "not_authenticated"
    assert headers["WWW-Authenticate"] == "Token"


def test_behind_a_tls_proxy_the_edge_sends_hsts_as_django_does(private_redis, queued_drop, buyer, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    drop = queued_drop(offered=5, limit=1)
    path = f"/api/v1/drops/{drop.pk}/queue/"
    _, client, auth = buyer
    app = edge.QueueEdge(Django())
    secure = through_edge(app, path, method="POST", auth=auth, HTTP_X_FORWARDED_PROTO="https")
    assert secure[1]["Strict-Transport-Security"] == "max-age=3600"
    response = client.post(path, HTTP_X_FORWARDED_PROTO="https")
    assert_same_answer(secure, (response.status_code, dict(response.headers), response.json()))
    # Without the proxy's header the request is plain HTTP: no HSTS, on either side.
    plain = through_edge(app, path, auth=auth)
    assert "Strict-Transport-Security" not in plain[1]
    assert_same_answer(plain, through_django(client, path))


def test_the_edge_refuses_what_the_api_refuses_revoked_expired_inactive(
    private_redis, queued_drop, make_user
):
    from datetime import timedelta

    from django.utils import timezone
    from knox.models import AuthToken

    from commerce.api import auth as api_auth

    drop = queued_drop(offered=5, limit=1)
    path = f"/api/v1/drops/{drop.pk}/queue/"
    revoked, expired, inactive = make_user(), make_user(), make_user()
    headers = {u.pk: auth_of(client_for(u)) for u in (revoked, expired, inactive)}
    app = edge.QueueEdge(Django())
    for user in (revoked, expired, inactive):  # seen once: in the edge's cache now
        assert through_edge(app, path, method="POST", auth=headers[user.pk])[0] == 200
        assert api_auth.user_id_for_header(headers[user.pk]) == user.pk
    AuthToken.objects.filter(user=revoked).delete()  # revoked here: forgotten in this process at once
    assert api_auth.user_id_for_header(headers[revoked.pk]) is None
    # Expiry and deactivation are seen on the next look-up (within the cache window elsewhere).
    AuthToken.objects.filter(user=expired).update(expiry=timezone.now() - timedelta(seconds=1))
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    api_auth.forget()
    for user in (revoked, expired, inactive):
        assert api_auth.user_id_for_header(headers[user.pk]) is None
        django = Django()
        assert (
            through_edge(edge.QueueEdge(django), path, auth=headers[user.pk])[0] == 201
        )  # Django's to answer
        assert django.reached == 1
