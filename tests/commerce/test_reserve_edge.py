"""Reserve refusals at the WSGI edge (commerce/api/edge.py): a caller the reserve throttle refused
is refused in front of Django until its window ends, with the same answer, and nobody else is.

The full stack runs through Django's test client (real DRF throttle, real Redis counters); the edge
is the real WSGI middleware, with a downstream application that records whether it was reached.
"""

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from commerce.api import edge
from commerce.models import Reservation
from tests.commerce.conftest import client_for, counters
from tests.commerce.test_abuse_throttles import an_ip, assert_throttled, reserve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_box() -> Iterator[None]:
    edge.forget_all()
    yield
    edge.forget_all()


@pytest.fixture
def throttles(settings: Any) -> dict[str, str]:
    settings.ABUSE_THROTTLE_ENABLED = True
    settings.ABUSE_NUM_PROXIES = 0
    settings.ABUSE_THROTTLE_RATES = {"reserve.user": "100000/d", "reserve.ip": "100000/d"}
    return settings.ABUSE_THROTTLE_RATES


class Downstream:
    """Stands for Django behind the edge: answers 201 and counts the requests that reached it."""

    def __init__(self) -> None:
        self.reached = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.reached += 1
        start_response("201 Created", [("Content-Type", "application/json")])
        return [b"{}"]


def call(app: Any, *, ip: str, auth: str = "", method: str = "POST", path: str = edge.RESERVE_PATH) -> Any:
    """One WSGI request; returns (status code, headers, JSON body or None)."""
    body = json.dumps({"drop_id": 1, "sku_id": 1, "quantity": 1}).encode()
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "REMOTE_ADDR": ip, "SERVER_NAME": "testserver",
        "SERVER_PORT": "80", "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json", "wsgi.url_scheme": "http",
    }  # fmt: skip
    if auth:
        environ["HTTP_AUTHORIZATION"] = auth
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    raw = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], (json.loads(raw) if raw else None)


def test_an_address_the_throttle_refused_is_refused_at_the_edge_until_its_window_ends(
    throttles, make_user, make_drop, shop
):
    throttles["reserve.ip"] = "2/d"
    drop = make_drop(offered=50, limit=5)
    ip, other_ip = an_ip(), an_ip()
    for _ in range(2):
        assert reserve(client_for(make_user()), drop.pk, shop["tee"].pk, ip).status_code == 201
    full_stack = reserve(client_for(make_user()), drop.pk, shop["tee"].pk, ip)
    wait = assert_throttled(full_stack)

    downstream = Downstream()
    app = edge.ReserveEdge(downstream)
    status, headers, body = call(app, ip=ip, auth="Token anything")
    assert downstream.reached == 0  # ended in front of Django
    # The same answer as the full stack's: status, error shape, message, Retry-After.
    assert status == 429 and headers["Content-Type"] == "application/json"
    edge_wait, expected = int(headers["Retry-After"]), full_stack.json()
    assert 1 <= edge_wait <= wait
    assert body == {
        "error": {
            "code": "throttled",
            "message": expected["error"]["message"].replace(f" {wait} ", f" {edge_wait} "),
            "details": {"retry_after": edge_wait},
        }
    }
    assert expected["error"]["code"] == "throttled" and expected["error"]["details"] == {"retry_after": wait}
    # And the same headers as the full stack's (security headers, Allow), bar the per-answer ones.
    per_answer = {"Content-Length", "Retry-After"}
    assert {k: v for k, v in headers.items() if k not in per_answer} == {
        k: v for k, v in full_stack.headers.items() if k not in per_answer
    }
    # Nothing reserved by the refused requests.
    assert counters(drop, shop["tee"]) == (50, 2, 0)

    # Others are not boxed: another address, another method, another path.
    assert call(app, ip=other_ip)[0] == 201
    assert call(app, ip=ip, method="GET")[0] == 201
    assert call(app, ip=ip, path="/api/v1/reservations/x/cancel/")[0] == 201
    assert downstream.reached == 3

    # Once the window has ended, the address goes through to Django again.
    later = time.time() + wait + 1
    assert edge.boxed_for({"REMOTE_ADDR": ip}, now=later) is None


def test_a_buyer_the_throttle_refused_is_refused_at_the_edge_by_their_credentials_only(
    throttles, make_user, make_drop, shop
):
    throttles["reserve.user"] = "1/d"
    drop = make_drop(offered=50, limit=5)
    buyer = make_user()
    api = client_for(buyer)
    ip = an_ip()
    assert reserve(api, drop.pk, shop["tee"].pk, ip).status_code == 201
    assert_throttled(reserve(api, drop.pk, shop["tee"].pk, ip))
    auth = api._credentials["HTTP_AUTHORIZATION"]  # type: ignore[attr-defined]  # what client_for sends

    downstream = Downstream()
    app = edge.ReserveEdge(downstream)
    assert call(app, ip=an_ip(), auth=auth)[0] == 429  # from any address
    assert call(app, ip=ip, auth="Token someone-else")[0] == 201  # the address itself is not boxed
    assert call(app, ip=ip)[0] == 201
    assert downstream.reached == 2
    assert Reservation.objects.filter(buyer=buyer).count() == 1


def test_the_edge_is_off_with_the_throttles(throttles, settings, make_user, make_drop, shop):
    throttles["reserve.ip"] = "1/d"
    drop = make_drop(offered=50, limit=5)
    ip = an_ip()
    assert reserve(client_for(make_user()), drop.pk, shop["tee"].pk, ip).status_code == 201
    assert_throttled(reserve(client_for(make_user()), drop.pk, shop["tee"].pk, ip))
    settings.ABUSE_THROTTLE_ENABLED = False
    downstream = Downstream()
    assert call(edge.ReserveEdge(downstream), ip=ip)[0] == 201 and downstream.reached == 1


def test_the_box_stays_bounded() -> None:
    now = time.time()
    for i in range(edge.MAX_BOXED + 10):
        edge.box({"REMOTE_ADDR": f"ip{i}"}, scopes=["reserve.ip"], retry_after=60, now=now)
    assert len(edge._boxed) <= edge.MAX_BOXED


def web_process_entry(monkeypatch: Any) -> Any:
    """A fresh import of config.wsgi (the web process's entry), without turning tracing on here."""
    import importlib
    import sys

    import config.tracing

    # config.wsgi turns tracing on for the process at import: not in the test process.
    monkeypatch.setattr(config.tracing, "configure_tracing", lambda *args, **kwargs: None)
    before = sys.modules.pop("config.wsgi", None)
    try:
        return importlib.import_module("config.wsgi")
    finally:  # leave the module table as it was
        sys.modules.pop("config.wsgi", None)
        if before is not None:
            sys.modules["config.wsgi"] = before


def test_the_web_process_serves_through_the_edge(throttles, monkeypatch) -> None:
    wsgi = web_process_entry(monkeypatch)
    from commerce.waiting_room.edge import QueueEdge

    # Waiting-room joins and polls first (tests/commerce/waiting_room/test_edge.py), then the reserve edge.
    assert isinstance(wsgi.edge_application, QueueEdge) and isinstance(
        wsgi.edge_application.app, edge.ReserveEdge
    )
    ip = an_ip()
    edge.box({"REMOTE_ADDR": ip}, scopes=["reserve.ip"], retry_after=30)
    status, headers, body = call(wsgi.application, ip=ip)
    assert status == 429 and body["error"]["code"] == "throttled" and 1 <= int(headers["Retry-After"]) <= 30


def post(app: Any, body: dict[str, Any], **environ: str) -> Any:
    """A reserve POST with `body` and extra WSGI keys; returns (status, headers, JSON body)."""
    raw = json.dumps(body).encode()
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST", "PATH_INFO": edge.RESERVE_PATH, "REMOTE_ADDR": an_ip(),
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "wsgi.input": io.BytesIO(raw),
        "CONTENT_LENGTH": str(len(raw)), "CONTENT_TYPE": "application/json", "wsgi.url_scheme": "http",
        **environ,
    }  # fmt: skip
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    out = b"".join(app(env, start_response))
    return seen["status"], seen["headers"], json.loads(out)


class Echo(Downstream):
    """Downstream that also checks it can still read the whole body the edge looked at."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.reached += 1
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        start_response("201 Created", [("Content-Type", "application/json")])
        return [body]


@pytest.mark.django_db(transaction=True)  # the memo learns on commit
def test_a_sku_this_process_saw_sold_out_is_refused_at_the_edge_with_the_views_answer(
    make_user, make_drop, shop
):
    drop = make_drop(offered=1, limit=1)
    body = {"drop_id": drop.pk, "sku_id": shop["tee"].pk, "quantity": 1}
    winner, late = client_for(make_user()), client_for(make_user())
    assert winner.post("/api/v1/reservations/", body, format="json").status_code == 201
    full_stack = late.post("/api/v1/reservations/", body, format="json")  # from the database: memo learnt
    assert full_stack.status_code == 409 and full_stack.json()["error"]["code"] == "sold_out"
    from_memory = late.post("/api/v1/reservations/", body, format="json")  # the view's precheck

    downstream = Echo()
    app = edge.ReserveEdge(downstream)
    status, headers, answer = post(app, body, HTTP_AUTHORIZATION="Token x")
    assert downstream.reached == 0
    assert status == 409 and headers["Content-Type"] == "application/json"
    assert (
        answer
        == from_memory.json()
        == {
            "error": {
                "code": "sold_out",
                "message": "Not enough stock left.",
                "details": {"available": 0, "requested": 1},
            }
        }
    )
    assert counters(drop, shop["tee"]) == (1, 1, 0)

    # Django's to answer: a keyed request (replay or record), a body that is not plain, another SKU.
    assert post(app, body, HTTP_IDEMPOTENCY_KEY="k-1")[0] == 201
    assert post(app, {**body, "quantity": "1"})[0] == 201
    assert post(app, {**body, "sku_id": shop["tee"].pk + 1000})[0] == 201
    assert downstream.reached == 3
    # ... and Django read the same body the edge had read.
    assert post(app, {**body, "note": "x" * 10})[2] == {**body, "note": "x" * 10}


@pytest.mark.django_db(transaction=True)  # the memo learns on commit
def test_a_queued_drop_without_an_admission_token_is_left_to_django(make_user, make_drop, shop, monkeypatch):
    drop = make_drop(offered=1, limit=1)
    body = {"drop_id": drop.pk, "sku_id": shop["tee"].pk, "quantity": 1}
    assert client_for(make_user()).post("/api/v1/reservations/", body, format="json").status_code == 201
    assert client_for(make_user()).post("/api/v1/reservations/", body, format="json").status_code == 409
    from commerce.waiting_room import services as rooms

    monkeypatch.setattr(rooms, "requires_admission", lambda *, drop_id: drop_id == drop.pk)
    downstream = Echo()
    app = edge.ReserveEdge(downstream)
    assert post(app, body)[0] == 201 and downstream.reached == 1  # Django answers (and counts) the 403
    assert post(app, body, HTTP_ADMISSION_TOKEN="t")[0] == 409  # with a token the precheck says sold out
