"""The HTTP server span: a caller's W3C traceparent is continued, a malformed one starts a new trace.

Either way the request succeeds, and the event it emits carries the server span's context (so the
relay and every consumer continue that trace). Real PostgreSQL; spans recorded in this process.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from commerce.models import Drop
from realtime.models import OutboxEvent
from tests.commerce.conftest import client_for
from tests.tracing import recording_spans, span_hex, trace_hex, traceparent

pytestmark = pytest.mark.django_db

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _reserve(
    make_user: Callable[..., User], make_drop: Callable[..., Drop], shop: dict[str, Any], **headers: str
) -> Any:
    drop = make_drop()
    api = client_for(make_user())  # after tracing is on: the client loads the middleware on first use
    extra: dict[str, Any] = dict(headers)
    return api.post(
        "/api/v1/reservations/",
        {"drop_id": drop.pk, "sku_id": shop["tee"].pk, "quantity": 1},
        format="json",
        **extra,
    )


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "00-" + "0" * 32 + "-b7ad6b7169203331-01",
        "",
    ],
)
def test_a_malformed_traceparent_starts_a_new_trace_and_the_request_succeeds(
    header: str, make_user: Callable[..., User], make_drop: Callable[..., Drop], shop: dict[str, Any]
) -> None:
    with recording_spans() as spans:
        response = _reserve(make_user, make_drop, shop, HTTP_TRACEPARENT=header)
        assert response.status_code == 201, response.content
        server = spans.one("POST /api/v1/reservations/")
        assert server.parent is None  # a root: nothing of the header was used
        assert trace_hex(server) != "0af7651916cd43dd8448eb211c80319c"
        assert server.attributes is not None and server.attributes["http.response.status_code"] == 201
        row = OutboxEvent.objects.get(type="inventory.reserved")
        assert row.trace_id == trace_hex(server) and row.traceparent == traceparent(server)


def test_a_valid_traceparent_is_continued_into_the_event(
    make_user: Callable[..., User], make_drop: Callable[..., Drop], shop: dict[str, Any]
) -> None:
    with recording_spans() as spans:
        response = _reserve(make_user, make_drop, shop, HTTP_TRACEPARENT=CALLER)
        assert response.status_code == 201, response.content
        server = spans.one("POST /api/v1/reservations/")
        assert server.parent is not None and server.parent.is_remote
        assert format(server.parent.span_id, "016x") == "b7ad6b7169203331"
        assert trace_hex(server) == "0af7651916cd43dd8448eb211c80319c"
        row = OutboxEvent.objects.get(type="inventory.reserved")
        assert row.trace_id == trace_hex(server)
        assert row.traceparent.split("-")[2] == span_hex(server)


def test_with_tracing_off_requests_run_without_the_middleware(
    make_user: Callable[..., User], make_drop: Callable[..., Drop], shop: dict[str, Any]
) -> None:
    response = _reserve(make_user, make_drop, shop, HTTP_TRACEPARENT=CALLER)
    assert response.status_code == 201
    row = OutboxEvent.objects.get(type="inventory.reserved")
    assert row.traceparent == "" and row.trace_id != "0af7651916cd43dd8448eb211c80319c"
