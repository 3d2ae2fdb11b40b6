"""`GET /metrics` of the web process (Prometheus text format), answered to allowed addresses only.

The web server runs several worker processes; with `PROMETHEUS_MULTIPROC_DIR` set (the Procfile
does, through ops/with-metrics-dir) each scrape sums every worker's files, whichever worker answers.
Nothing here touches the database or takes a lock that requests hold.
"""

import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from monitoring.switch import ENABLED


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The web workers' metrics; 404 when metrics are off or the caller is not allowed."""
    if not ENABLED or request.META.get("REMOTE_ADDR") not in settings.METRICS_ALLOWED_IPS:
        return HttpResponse(status=404)
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
