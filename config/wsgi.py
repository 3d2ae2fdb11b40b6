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

# The moment a request entered this process (wall clock, seconds), before Django's request handling:
# a waiting room's join reports it (`arrived_at_us`), so arrival order can be told apart from the order
# in which the server's threads got round to the requests.
RECEIVED_AT = "mintdrop.received_at"


# Reserve refusals this process already knows (throttled callers, sold-out SKUs) end in front of Django
# (commerce/api/edge.py).
edge_application = ReserveEdge(django_application)


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ[RECEIVED_AT] = time.time()
    return edge_application(environ, start_response)
