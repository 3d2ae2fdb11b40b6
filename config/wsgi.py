"""WSGI entry point: the `web` process serves all plain HTTP through it (granian)."""

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.tracing import configure_tracing

configure_tracing("web")  # before the middleware is loaded: it is only installed when tracing is on
django_application = get_wsgi_application()

from commerce.api.edge import ReserveEdge  # noqa: E402 (needs the apps loaded)
from commerce.waiting_room.edge import RECEIVED_AT, QueueEdge  # noqa: E402

# Reserve refusals this process already knows (throttled callers, sold-out SKUs), and waiting-room joins
# and polls with a valid API token, are answered in front of Django (commerce/api/edge.py,
# commerce/waiting_room/edge.py).
edge_application = QueueEdge(ReserveEdge(django_application))


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ[RECEIVED_AT] = time.time()
    return edge_application(environ, start_response)
