"""One JSON error shape for every 4xx/5xx: `{"error": {"code", "message", "details"}}`."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import ApplicationError

logger = logging.getLogger(__name__)

# Machine-facing paths answer errors in JSON; the storefront, console and admin get HTML pages.
JSON_PREFIXES = ("/api/", "/webhooks/", "/healthz", "/readyz", "/nft/metadata/")

_DRF_CODES: dict[type[drf_exceptions.APIException], str] = {
    drf_exceptions.ParseError: "malformed_request",
    drf_exceptions.ValidationError: "validation_error",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The error document every endpoint returns."""
    return {"error": {"code": code, "message": message, "details": details if details is not None else {}}}


# A database that does not answer (a restart, a failover: seconds) is not the client's fault and not
# a bug: 503 with Retry-After, so clients and load balancers retry instead of reporting a crash.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_S = 5


def database_unavailable_body() -> dict[str, Any]:
    return error_body(
        "service_unavailable",
        "The service cannot reach its database right now; try again in a few seconds.",
        {"retry_after": DATABASE_RETRY_AFTER_S},
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler mapping application, DRF and Django errors to the one shape."""
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.http_status)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.warning("database unavailable in an API view: %s", exc)
        return Response(
            database_unavailable_body(), status=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)}
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        # Unexpected: log with the traceback, answer without one.
        logger.exception("unhandled error in API view", exc_info=exc)
        return Response(error_body("internal_error", "Something went wrong on our side."), status=500)
    assert isinstance(exc, drf_exceptions.APIException)
    code = _DRF_CODES.get(type(exc), exc.default_code if isinstance(exc.default_code, str) else "error")
    details: Any
    if isinstance(exc, drf_exceptions.ValidationError):
        message, details = "The request is not valid.", exc.detail
    elif isinstance(exc, drf_exceptions.Throttled):  # Retry-After is set by DRF's handler
        message, details = str(exc.detail), {"retry_after": getattr(exc, "wait", None)}
    else:
        message, details = str(exc.detail), {}
    response.data = error_body(code, message, details)
    return response


def json_error(request: HttpRequest, code: str, message: str, status: int) -> JsonResponse:
    """A plain-Django view answering with the same error shape (used by handler404/500)."""
    return JsonResponse(error_body(code, message), status=status)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PREFIXES) or "application/json" in request.headers.get("Accept", "")


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    """JSON for API clients, Django's HTML page for the storefront and admin."""
    if _wants_json(request):
        return json_error(request, "not_found", "Not found.", 404)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return json_error(request, "internal_error", "Something went wrong on our side.", 500)
    return defaults.server_error(request)


class DatabaseUnavailableMiddleware:
    """Plain Django views (storefront, console, webhooks): a database that does not answer -> 503.

    DRF views get the same from `api_exception_handler`. Errors raised by other middleware (e.g.
    the session's) still reach handler500: Django turns them into responses inside each layer.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        logger.warning("database unavailable in %s: %s", request.path, exception)
        if _wants_json(request):
            response: HttpResponse = JsonResponse(database_unavailable_body(), status=503)
        else:
            response = HttpResponse(
                "<!doctype html><title>Back in a moment</title><h1>Back in a moment</h1>"
                "<p>The shop cannot reach its database right now. Please try again in a few seconds.</p>",
                status=503,
            )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        return response
