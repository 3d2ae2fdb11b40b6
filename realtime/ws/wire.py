"""The fan-out's fast path: one pre-built WebSocket frame written to each local socket's transport.

Server-to-client frames are not masked (RFC 6455 section 5.1), so the bytes of a text frame are the
same for every socket. Through ASGI each socket's `send` would encode the text, build and
serialise a frame, join buffers and pass the session middleware's wrapper; profiled at 2,000
sockets that was about 40 % of the ws process's fan-out CPU on top of the unavoidable write
syscall. For sockets served by uvicorn's `websockets-sansio` protocol (the Procfile's `ws`
process) the hub therefore builds the frame's bytes once and writes them straight to the
transport, exactly what that protocol's `send` would have written.

Only when it is safe: handshake done, nothing closing, no extension negotiated (the Procfile
turns per-message deflate off; a compressed frame would differ per socket), transport not paused
(flow control). Anything else -- another server, a paused or closing socket -- takes the ordinary
ASGI `send`, so behaviour never depends on this path.
"""

from collections.abc import Callable
from typing import Any

from websockets.frames import Frame, Opcode
from websockets.protocol import State

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - uvicorn is a dependency; other servers just take ASGI
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

_last: tuple[str, bytes] = ("", b"")


def text_frame(text: str) -> bytes:
    """The unmasked WebSocket text frame carrying `text` (the last one is cached: a fan-out repeats it)."""
    global _last
    if _last[0] is not text:
        _last = (text, Frame(Opcode.TEXT, text.encode()).serialize(mask=False))
    return _last[1]


class RawSocket:
    """Direct writes to one uvicorn websockets-sansio connection, while that is what its send would do."""

    __slots__ = ("proto",)

    def __init__(self, proto: Any) -> None:
        self.proto = proto

    def write(self, text: str) -> bool:
        """Write `text` as one frame now; False if this socket must take the ASGI send instead."""
        p = self.proto
        if (
            not p.handshake_complete
            or p.close_sent
            or p.disconnected
            or p.initial_response is not None
            or not p.writable.is_set()
            or p.conn.state is not State.OPEN
            or p.conn.extensions
            or p.conn.expect_continuation_frame
            or p.transport.is_closing()
        ):
            return False
        p.transport.write(text_frame(text))
        return True


def raw_socket(send: Callable[..., Any]) -> RawSocket | None:
    """The uvicorn connection behind an ASGI `send` (through Channels' session wrapper), if any."""
    if WebSocketsSansIOProtocol is None:
        return None
    for _ in range(4):  # a few wrappers at most: session middleware around the server's send
        owner = getattr(send, "__self__", None)
        if isinstance(owner, WebSocketsSansIOProtocol):
            return RawSocket(owner)
        inner = getattr(owner, "real_send", None)  # channels.sessions.InstanceSessionWrapper
        if inner is None:
            return None
        send = inner
    return None
