"""The server span of each HTTP request: continues the caller's W3C `traceparent`, else a new trace.

A malformed `traceparent` header is ignored (a new trace starts, the request goes on as usual):
trace context from outside is a hint, never a reason to refuse a request. Every event the request
emits carries this span's context through the outbox, so the whole purchase is one trace.
"""

from collections.abc import Callable

from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse
from opentelemetry.trace import SpanKind, Status, StatusCode

from realtime import tracing


class TracingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not tracing.enabled():
            raise MiddlewareNotUsed  # tracing off: not even a function call per request
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        parent = request.META.get("HTTP_TRACEPARENT", "")
        with tracing.span(
            f"{request.method} {request.path_info}",
            kind=SpanKind.SERVER,
            parent=parent,
            attributes={"http.request.method": request.method or "", "url.path": request.path_info},
        ) as span:
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            if match is not None and match.route:
                # the route (not the path) names the span: one name per endpoint, not per id
                span.update_name(f"{request.method} /{match.route}")
                span.set_attribute("http.route", f"/{match.route}")
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return response
