"""Origin checks on the WebSocket handshake (config/ws_origin.py)."""

import asyncio
from typing import Any

import pytest

from config.ws_origin import OriginValidator


async def _handshake(headers: list[tuple[bytes, bytes]]) -> str:
    """Run the validator over a fake app; return "app" if it was reached, else what was sent."""
    reached: list[str] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        reached.append("app")

    inbox: list[dict[str, Any]] = [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect", "code": 1000},
    ]

    async def receive() -> dict[str, Any]:
        return inbox.pop(0) if inbox else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws/drops/1/", "headers": headers}
    await OriginValidator(app)(scope, receive, send)
    return reached[0] if reached else sent[0]["type"]


# Channels' denier closes old DB connections as it dispatches, so database access must be allowed.
@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers, outcome",
    [
        ([], "app"),  # a token client: no Origin, no cookie
        ([(b"origin", b"http://127.0.0.1:8000")], "app"),
        ([(b"origin", b"https://evil.example")], "websocket.close"),
        ([(b"origin", b"https://evil.example"), (b"cookie", b"sessionid=x")], "websocket.close"),
        ([(b"cookie", b"sessionid=x")], "websocket.close"),  # a cookie without Origin is not trusted
    ],
)
def test_origin_rules(headers: list[tuple[bytes, bytes]], outcome: str) -> None:
    assert asyncio.run(_handshake(headers)) == outcome
