"""Consumer-level tests (channels WebsocketCommunicator on the real ASGI app, real Redis + PostgreSQL).

Who may open which stream, what a refusal looks like (accept, error frame, close code), and that
a malformed client message gets an error frame, leaves the socket usable and changes nothing.
"""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from commerce.models import DropItem, Order, Reservation
from config.asgi import application
from realtime.ws.protocol import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
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
    _, stranger_token = make_user("stranger")
    from rest_framework.authtoken.models import Token

    buyer_token = Token.objects.get(user=order.buyer).key
    path = f"/ws/orders/{order.pk}/"
    staff_cookie = session_cookie(shop["staff"])

    async def scenario() -> None:
        error, code = await refused_with(path)
        assert (code, error["type"], error["code"]) == (CLOSE_UNAUTHENTICATED, "error", "unauthenticated")
        _, code = await refused_with(f"{path}?token={stranger_token}")
        assert code == CLOSE_FORBIDDEN
        _, code = await refused_with(f"{path}?token=not-a-real-token")
        assert code == CLOSE_UNAUTHENTICATED
        _, code = await refused_with(f"/ws/orders/{order.pk + 1000}/?token={buyer_token}")
        assert code == CLOSE_FORBIDDEN  # unknown order: same answer as someone else's

        allowed = [
            (f"{path}?token={buyer_token}", []),  # buyer, token in the query
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


def test_token_in_subprotocol_is_accepted_with_the_protocol_name(shop: dict[str, Any], order: Order) -> None:
    async def scenario() -> None:
        comm = WebsocketCommunicator(
            application,
            f"/ws/merchants/{shop['merchant'].pk}/dashboard/",
            headers=[ORIGIN],
            subprotocols=["mintdrop.v1", f"token.{shop['staff_token']}"],
        )
        connected, subprotocol = await comm.connect(timeout=10)
        assert connected and subprotocol == "mintdrop.v1"
        snap = await comm.receive_json_from(timeout=10)
        assert snap["type"] == "snapshot" and snap["merchant_id"] == shop["merchant"].pk
        assert [d["drop_id"] for d in snap["drops"]] == [shop["drop"].pk]
        await comm.disconnect()

    run(scenario)


def test_dashboard_is_for_merchant_staff_only(shop: dict[str, Any], order: Order) -> None:
    from rest_framework.authtoken.models import Token

    buyer_token = Token.objects.get(user=order.buyer).key

    async def scenario() -> None:
        path = f"/ws/merchants/{shop['merchant'].pk}/dashboard/"
        _, code = await refused_with(f"{path}?token={buyer_token}")
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
