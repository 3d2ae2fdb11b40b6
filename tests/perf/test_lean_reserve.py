"""The lean reserve path (#17 item 4): what was cut keeps its guarantee.

- The connection health check polls the socket instead of sending SELECT 1: a healthy idle
  connection is reused with no round trip, and one the server terminated is still detected and
  replaced before the request uses it (real PostgreSQL, `pg_terminate_backend`).
- The reserve body of plain integers skips the serializer; every other body still gets the
  serializer's own errors, in the `{"error": ...}` shape.
"""

import io
import json
import select
import sys
import time

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from psycopg import pq
from rest_framework.authtoken.models import Token

from commerce.models import Reservation
from tests.commerce.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/reservations/"


def _backend_pid() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return int(cur.fetchone()[0])


def _last_query_of(pid: int) -> str:
    """What the backend `pid` ran last, as another connection sees it."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        row = other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return str(row[0])


def test_a_healthy_idle_connection_is_usable_without_a_round_trip() -> None:
    pid = _backend_pid()
    with connection.cursor() as cur:
        cur.execute("SELECT 'lean-health-check-marker'")
    assert connection.connection.pgconn.transaction_status == pq.TransactionStatus.IDLE
    assert connection.is_usable() is True
    assert "lean-health-check-marker" in _last_query_of(pid)  # no SELECT 1 went out after it


def _wsgi_reserve(token: str, body: dict[str, int]) -> tuple[str, bytes]:
    """POST through Django's real WSGI handler (request_started / finished signals included, which
    the test Client disconnects): the connection health check runs as in production."""
    raw = json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": URL, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(raw)),
        "HTTP_AUTHORIZATION": f"Token {token}", "HTTP_HOST": "testserver", "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
    }  # fmt: skip
    status: list[str] = []
    chunks = WSGIHandler()(environ, lambda s, headers, exc_info=None: status.append(s))
    return status[0], b"".join(chunks)


def test_a_terminated_connection_is_replaced_before_the_request_uses_it(make_user, make_drop, shop):
    drop, sku = make_drop(live=True, offered=5, limit=5), shop["tee"]
    token = Token.objects.create(user=make_user()).key
    body = {"drop_id": drop.pk, "sku_id": sku.pk, "quantity": 1}
    status, content = _wsgi_reserve(token, body)
    assert status.startswith("201"), content
    old_pid = _backend_pid()
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [old_pid])
    raw = connection.connection
    deadline = time.monotonic() + 60
    while not select.select([raw.fileno()], [], [], 0)[0]:  # the server's goodbye arrives
        assert time.monotonic() < deadline, "the terminated backend never closed its socket"
        time.sleep(0.05)
    assert connection.is_usable() is False

    status, content = _wsgi_reserve(token, body)
    assert status.startswith("201"), content  # a fresh connection, not a 500
    assert _backend_pid() != old_pid
    assert Reservation.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"drop_id": "x", "sku_id": 1}, "drop_id"),
        ({"drop_id": 1, "sku_id": 1, "quantity": 0}, "quantity"),
        ({"drop_id": 1, "sku_id": 1, "quantity": True}, "quantity"),
        ({"drop_id": 1}, "sku_id"),
        ({"drop_id": 2**63, "sku_id": 1}, "drop_id"),
    ],
)
def test_bad_reserve_bodies_still_get_the_serializers_errors(make_user, body, field) -> None:
    response = client_for(make_user()).post(URL, body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"], error
    assert not Reservation.objects.exists()


def test_a_plain_body_with_a_string_number_is_read_like_before(make_user, make_drop, shop):
    drop, sku = make_drop(live=True, offered=5), shop["tee"]
    response = client_for(make_user()).post(
        URL, {"drop_id": str(drop.pk), "sku_id": sku.pk}, format="json"
    )  # the serializer's coercion, as before the fast path
    assert response.status_code == 201 and response.json()["quantity"] == 1
