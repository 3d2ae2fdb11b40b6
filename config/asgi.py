"""ASGI entry point: WebSockets under /ws/ (the `ws` process); HTTP too, for one-process runs."""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.tracing import configure_tracing

configure_tracing("ws")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.ws_origin import OriginValidator  # noqa: E402
from monitoring.exporter import start_process_exporter  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402
from realtime.ws import gcpolicy, wire  # noqa: E402
from realtime.ws.auth import SessionAuthMiddlewareStack  # noqa: E402


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The server process's start-up work (uvicorn sends `lifespan`; importing this module does not).

    Start-up: the collector policy for the sockets' event loop (realtime/ws/gcpolicy.py), and the
    check of the fan-out's direct transport writes against this uvicorn (realtime/ws/wire.py).
    """
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            gcpolicy.start()
            wire.check_fast_paths()
            start_process_exporter("ws")
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginValidator(SessionAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "lifespan": lifespan,
    }
)
