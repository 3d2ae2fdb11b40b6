"""HTTP metrics of the web process: latency and status by route template, reservations by outcome.

The route is Django's matched URL pattern (`api/v1/drops/<int:pk>/`), never the raw path, so a
scanner hitting random URLs adds one `unmatched` series, not one per URL. Reservation outcomes are
read from the response here (201 = reserved, else the error code of the JSON error shape), which
keeps the reserve hot path itself free of metrics code.
"""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from monitoring import metrics

RESERVE_ROUTE_NAME = "reservation-list"
UNMATCHED = "unmatched"


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    return "/" + (match.route or match.view_name or UNMATCHED)


def error_code_of(response: HttpResponse) -> str:
    """The `error.code` of our JSON error shape, from a DRF Response's data (no re-parsing)."""
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return str(error["code"])
    return f"http_{response.status_code}"


class HttpMetricsMiddleware:
    """Outermost middleware: times the whole request, including the other middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        route = route_of(request)
        method = request.method or "GET"
        metrics.HTTP_DURATION.labels(method, route).observe(elapsed)
        metrics.HTTP_RESPONSES.labels(method, route, str(response.status_code)).inc()
        match = getattr(request, "resolver_match", None)
        if method == "POST" and match is not None and match.url_name == RESERVE_ROUTE_NAME:
            ok = response.status_code == 201
            metrics.count_reservation("reserved" if ok else error_code_of(response))
        return response
