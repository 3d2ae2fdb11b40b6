"""The fan-out's fast path: one pre-built WebSocket frame written to each local socket's transport.

Server-to-client frames are not masked (RFC 6455 section 5.1), so the bytes of a text frame are the
same for every socket. Through ASGI each socket's `send` would encode the text, build and
serialise a frame, join buffers and pass the session middleware's wrapper: a large share of the
ws process's fan-out CPU on top of the unavoidable write syscall (profile: bench/README.md). For sockets served by uvicorn's `websockets-sansio` protocol (the Procfile's `ws`
process) the hub therefore builds the frame's bytes once and writes them straight to the
transport, exactly what that protocol's `send` would have written.

Only when it is safe: handshake done, nothing closing, no extension negotiated (the Procfile
turns per-message deflate off; a compressed frame would differ per socket), transport not paused
(flow control). Anything else -- another server, a paused or closing socket -- takes the ordinary
ASGI `send`, so behaviour never depends on this path.

Those checks read uvicorn's and websockets' private attributes, which a new release may rename.
So before the first use (the ASGI lifespan start-up, or the first socket) `check_fast_paths()`
drives a real protocol object over a fake transport: the attributes must be there and the bytes
written must equal what the protocol's own `send` writes. If not, the process logs why and uses
the ASGI send only. `WS_FAST_PATHS=0` turns this path off outright (the live ws tests run
both ways). The hub's eager run of the ASGI send (hub._run_eagerly) stays either way: it relies
on nothing private, only on `send` being a coroutine.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from websockets.frames import Frame, Opcode
from websockets.protocol import State

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - uvicorn is a dependency; other servers just take ASGI
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)

_last: tuple[str, bytes] = ("", b"")
_raw_ok: bool | None = None  # the start-up check's verdict (None: not run yet)


def fast_paths_enabled() -> bool:
    """`WS_FAST_PATHS` (default on): frames written straight to uvicorn's transport when safe."""
    return bool(getattr(settings, "WS_FAST_PATHS", True))


class _ProbeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name in ("peername", "sockname") else default


def _probe() -> str | None:
    """None if direct writes match uvicorn's send on this install; else why not."""
    if WebSocketsSansIOProtocol is None:
        return "uvicorn's websockets-sansio protocol is not installed"
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    async def app(scope: Any, receive: Any, send: Any) -> None:  # never called
        return None

    config = Config(app=app, ws="websockets-sansio", ws_per_message_deflate=False, log_config=None)
    config.load()
    proto = WebSocketsSansIOProtocol(config=config, server_state=ServerState(), app_state={},
                                     _loop=asyncio.get_event_loop())  # fmt: skip
    transport = _ProbeTransport()
    proto.transport = transport
    proto.handshake_complete = True
    proto.conn.state = State.OPEN
    text = "mintdrop fast-path probe \u00e9"
    if not RawSocket(proto).write(text):
        return "an open probe connection was refused by the direct write's checks"
    direct, transport.written = b"".join(transport.written), []
    coro = proto.send({"type": "websocket.send", "text": text})
    try:
        coro.send(None)  # the writable event is set: the send completes without suspending
    except StopIteration:
        pass
    else:
        coro.close()
        return "uvicorn's send suspended on an open, writable probe connection"
    if b"".join(transport.written) != direct:
        return "the direct write's bytes differ from what uvicorn's send writes"
    return None


def check_fast_paths() -> bool:
    """Run the start-up check once per process; True if direct transport writes may be used."""
    global _raw_ok
    if _raw_ok is None:
        if not fast_paths_enabled():
            log.info("ws: fast paths off (WS_FAST_PATHS=0): every frame takes the ASGI send")
            return False
        try:
            reason = _probe()
        except Exception as exc:  # a renamed attribute, a changed constructor...
            reason = f"{type(exc).__name__}: {exc}"
        _raw_ok = reason is None
        if reason is not None:
            log.warning("ws: direct transport writes off, every frame takes the ASGI send (%s)", reason)
    return _raw_ok and fast_paths_enabled()


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
    if WebSocketsSansIOProtocol is None or not check_fast_paths():
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
