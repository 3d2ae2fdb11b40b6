"""Liveness and readiness endpoints for process managers and load balancers."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from config.dependencies import probe_all


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive; checks nothing else (cheap enough for a benchmark baseline)."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Status and latency of every dependency; 503 if any is down."""
    results = probe_all()
    body = {
        "status": "ok" if all(r.ok for r in results) else "unavailable",
        "dependencies": {
            r.name: {"status": "ok" if r.ok else "down", "latency_ms": r.latency_ms, "address": r.address}
            | ({"error": r.error} if r.error else {})
            for r in results
        },
    }
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)
