"""Consumer-level tests (channels WebsocketCommunicator on the real ASGI app, real Redis + PostgreSQL).

Who may open which stream, what a refusal looks like (accept, error frame, close code), and that
a malformed client message gets an error frame, leaves the socket usable and changes nothing.
"""

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from commerce.models import DropItem, Order, Reservation
from config.asgi import application
from realtime.ws.protocol import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from tests.tokens import ws_ticket
from tests.ws.conftest import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


# config/asgi.py validates Origin against ALLOWED_HOSTS and refuses sockets without one.
ORIGIN = (b"origin", b"http://127.0.0.1")


def run(scenario: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(scenario())


def session_cookie(user: User) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()


async def open_socket(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(application, path, headers=[ORIGIN, *(headers or [])])
    connected, _ = await comm.connect(timeout=10)
    assert connected
    return comm


async def refused_with(
    path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[dict[str, Any], int]:
    comm = await open_socket(path, headers)
    error = await comm.receive_json_from(timeout=10)
    closed = await comm.receive_output(timeout=10)
    assert closed["type"] == "websocket.close"
    return error, int(closed["code"])


@pytest.fixture
def order(shop: dict[str, Any]) -> Order:
    buyer, _ = make_user("buyer")
    return Order.objects.create(
        buyer=buyer, merchant=shop["merchant"], drop=shop["drop"], total=2500, currency="usd"
    )


def test_order_stream_only_for_its_buyer_or_merchant_staff(shop: dict[str, Any], order: Order) -> None:
    stranger, _ = make_user("stranger")
    path = f"/ws/orders/{order.pk}/"
    staff_cookie = session_cookie(shop["staff"])

    async def scenario() -> None:
        error, code = await refused_with(path)
        assert (code, error["type"], error["code"]) == (CLOSE_UNAUTHENTICATED, "error", "unauthenticated")
        _, code = await refused_with(f"{path}?ticket={ws_ticket(stranger)}")
        assert code == CLOSE_FORBIDDEN
        _, code = await refused_with(f"{path}?ticket=not-a-real-ticket")
        assert code == CLOSE_UNAUTHENTICATED
        _, code = await refused_with(f"/ws/orders/{order.pk + 1000}/?ticket={ws_ticket(order.buyer)}")
        assert code == CLOSE_FORBIDDEN  # unknown order: same answer as someone else's

        allowed = [
            (f"{path}?ticket={ws_ticket(order.buyer)}", []),  # buyer, ticket in the query
            (path, [staff_cookie]),  # merchant staff, Django session
            (path, [(b"authorization", f"Token {shop['owner_token']}".encode())]),  # owner, header
        ]
        for url, headers in allowed:
            comm = await open_socket(url, headers)
            snap = await comm.receive_json_from(timeout=10)
            assert snap["type"] == "snapshot" and snap["stream"] == f"order.{order.pk}"
            assert snap["status"] == "pending_payment" and snap["seq"] == 0
            await comm.disconnect()

    run(scenario)


def test_api_token_in_the_url_is_refused_even_when_valid(shop: dict[str, Any], order: Order) -> None:
    async def scenario() -> None:
        error, code = await refused_with(
            f"/ws/merchants/{shop['merchant'].pk}/dashboard/?token={shop['owner_token']}"
        )
        assert code == CLOSE_UNAUTHENTICATED and error["code"] == "unauthenticated"
        assert "not accepted in the URL" in error["message"]

    run(scenario)


def test_ticket_in_subprotocol_is_accepted_with_the_protocol_name(shop: dict[str, Any], order: Order) -> None:
    async def scenario() -> None:
        comm = WebsocketCommunicator(
            application,
            f"/ws/merchants/{shop['merchant'].pk}/dashboard/",
            headers=[ORIGIN],
            subprotocols=["mintdrop.v1", f"ticket.{ws_ticket(shop['staff'])}"],
        )
        connected, subprotocol = await comm.connect(timeout=10)
        assert connected and subprotocol == "mintdrop.v1"
        snap = await comm.receive_json_from(timeout=10)
        assert snap["type"] == "snapshot" and snap["merchant_id"] == shop["merchant"].pk
        assert [d["drop_id"] for d in snap["drops"]] == [shop["drop"].pk]
        await comm.disconnect()

    run(scenario)


def test_ticket_from_the_api_works_once(shop: dict[str, Any], order: Order) -> None:
    """POST /api/v1/ws-tickets/ with a token; the ticket opens one socket, then it is refused."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {shop['owner_token']}")
    response = api.post("/api/v1/ws-tickets/")
    assert response.status_code == 201, response.content
    ticket = response.json()["ticket"]
    assert response.json()["expires_in"] == settings.WS_TICKET_TTL_SECONDS
    path = f"/ws/merchants/{shop['merchant'].pk}/dashboard/?ticket={ticket}"

    async def scenario() -> None:
        comm = await open_socket(path)
        assert (await comm.receive_json_from(timeout=10))["type"] == "snapshot"
        await comm.disconnect()
        error, code = await refused_with(path)  # the same ticket again
        assert code == CLOSE_UNAUTHENTICATED and error["code"] == "unauthenticated"
        assert "already used" in error["message"]

    run(scenario)
    assert APIClient().post("/api/v1/ws-tickets/").status_code == 401  # no credentials, no ticket


def test_two_sockets_racing_with_one_ticket_only_one_gets_in(shop: dict[str, Any], order: Order) -> None:
    path = f"/ws/orders/{order.pk}/?ticket={ws_ticket(order.buyer)}"

    async def first_frame() -> dict[str, Any]:
        comm = await open_socket(path)
        frame = await comm.receive_json_from(timeout=10)
        await comm.disconnect()
        return frame

    async def scenario() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*[first_frame() for _ in range(4)]))

    frames = run(scenario)
    assert sorted(f["type"] for f in frames) == ["error", "error", "error", "snapshot"]


def test_expired_ticket_is_refused(shop: dict[str, Any], order: Order) -> None:
    from realtime.ws.tickets import _key, _sync_client

    ticket = ws_ticket(order.buyer)
    _sync_client().pexpire(_key(ticket), 1)  # as if WS_TICKET_TTL_SECONDS had gone by
    deadline = time.monotonic() + 30
    while _sync_client().exists(_key(ticket)) and time.monotonic() < deadline:
        time.sleep(0.01)

    async def scenario() -> None:
        error, code = await refused_with(f"/ws/orders/{order.pk}/?ticket={ticket}")
        assert code == CLOSE_UNAUTHENTICATED and error["code"] == "unauthenticated"

    run(scenario)


def test_revoked_token_header_is_refused(shop: dict[str, Any], order: Order) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {shop['owner_token']}")
    assert api.post("/api/v1/auth/logout/").status_code == 204
    header = (b"authorization", f"Token {shop['owner_token']}".encode())

    async def scenario() -> None:
        _, code = await refused_with(f"/ws/orders/{order.pk}/", [header])
        assert code == CLOSE_UNAUTHENTICATED

    run(scenario)


def test_dashboard_is_for_merchant_staff_only(shop: dict[str, Any], order: Order) -> None:
    async def scenario() -> None:
        path = f"/ws/merchants/{shop['merchant'].pk}/dashboard/"
        _, code = await refused_with(f"{path}?ticket={ws_ticket(order.buyer)}")
        assert code == CLOSE_FORBIDDEN
        _, code = await refused_with(path)
        assert code == CLOSE_UNAUTHENTICATED

    run(scenario)


def test_malformed_messages_get_an_error_frame_and_change_nothing(shop: dict[str, Any]) -> None:
    drop = shop["drop"]
    before = list(DropItem.objects.filter(drop=drop).values("offered", "reserved", "sold"))

    async def scenario() -> None:
        comm = await open_socket(f"/ws/drops/{drop.pk}/")
        snap = await comm.receive_json_from(timeout=10)
        assert snap["type"] == "snapshot" and snap["state"] == "live"
        assert snap["skus"][0]["available"] == 50 and snap["countdown_to"] is None
        bad = [
            "{",
            "[1,2]",
            '{"type":"reserve","quantity":5}',
            '{"type":"resume","last_seq":"x"}',
            "x" * 10_000,
        ]
        for text in bad:
            await comm.send_to(text_data=text)
            frame = await comm.receive_json_from(timeout=10)
            assert frame["type"] == "error" and frame["seq"] == snap["seq"], frame
        await comm.send_to(bytes_data=b"\x00\x01")
        assert (await comm.receive_json_from(timeout=10))["code"] == "malformed_message"
        # Still usable:
        await comm.send_json_to({"type": "ping"})
        pong = await comm.receive_json_from(timeout=10)
        assert pong["type"] == "pong" and pong["seq"] == snap["seq"]
        # Nothing happened on the stream: a resume from the snapshot's seq sends nothing...
        await comm.send_json_to({"type": "resume", "last_seq": snap["seq"]})
        await comm.send_json_to({"type": "ping"})
        assert (await comm.receive_json_from(timeout=10))["type"] == "pong"
        # ...and one from a seq the stream never issued gets a fresh snapshot.
        await comm.send_json_to({"type": "resume", "last_seq": 10**9})
        again = await comm.receive_json_from(timeout=10)
        assert again["type"] == "snapshot" and again["skus"] == snap["skus"]
        await comm.disconnect()

    run(scenario)
    assert list(DropItem.objects.filter(drop=drop).values("offered", "reserved", "sold")) == before
    assert not Reservation.objects.exists()


def test_unknown_drop_is_closed_with_not_found() -> None:
    async def scenario() -> None:
        error, code = await refused_with("/ws/drops/987654/")
        assert code == CLOSE_NOT_FOUND and error["code"] == "not_found"

    run(scenario)
