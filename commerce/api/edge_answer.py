"""A JSON answer given in front of Django (commerce/api/edge.py, commerce/waiting_room/edge.py).

It carries what the full stack's answer carries: DRF's compact JSON (`JSONRenderer`: no spaces,
UTF-8), the headers the middleware chain adds (config/security_headers.py), the view's `Allow` (the
views are JSON-only, so DRF adds no `Vary: Accept`), and the route's HTTP metrics as
HttpMetricsMiddleware counts them (monitoring/http.py). Django's request signals are not sent:
nothing here listens to them but its database connection handling, which the next request that
goes through Django in the same thread does (the edges leave database errors to Django).
"""

import functools
import json
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.urls import resolve

from config.security_headers import static_response_headers
from monitoring import metrics


@functools.cache
def route_label(path: str) -> str:
    """The route label HttpMetricsMiddleware gives a path (Django's matched URL pattern)."""
    return "/" + (resolve(path).route or path)


def render(body: Any) -> bytes:
    """The body as DRF's JSONRenderer writes it (compact separators, non-ASCII kept as UTF-8)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def answer(
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    *,
    status: int,
    body: Any,
    route: str,
    allow: str,
    extra: Iterable[tuple[str, str]] = (),
    started: float | None = None,
) -> list[bytes]:
    """Send `body` with `status`; count it under `route` (a label from `route_label`).
    `started`: perf_counter() when the edge took the request (its duration is observed from then)."""
    raw = render(body)
    headers = [
        ("Content-Type", "application/json"), ("Allow", allow),
        ("Content-Length", str(len(raw))), *static_response_headers(environ), *extra,
    ]  # fmt: skip
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    if metrics.ENABLED:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        if started is not None:
            metrics.HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)
        metrics.HTTP_RESPONSES.labels(method, route, str(status)).inc()
    return [raw]
