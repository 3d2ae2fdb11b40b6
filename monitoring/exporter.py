"""The metrics endpoint of a long-running process: an HTTP exporter thread on 127.0.0.1:<port>.

Ports per process kind are in monitoring/ports.py. A port already taken (a second copy of the
same kind started without its own `METRICS_PORT`) is logged and skipped: losing a process's
metrics must never stop the process itself.
"""

import logging
import os
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

from monitoring.ports import port_for
from monitoring.switch import ENABLED

log = logging.getLogger(__name__)

METRICS_HOST = os.environ.get("METRICS_HOST", "127.0.0.1")
_started: dict[str, Any] = {}


def start_process_exporter(kind: str, *, registry: CollectorRegistry | None = None) -> int | None:
    """Serve this process's metrics on the port of `kind`; returns the port, or None if not serving."""
    if not ENABLED or kind in _started:
        return None
    port = port_for(kind)
    if port is None:
        return None
    if registry is None:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # A pre-forking process (Celery worker): sum the children's files on each scrape.
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = REGISTRY
    try:
        server, _thread = start_http_server(port, addr=METRICS_HOST, registry=registry)
    except OSError as exc:
        log.warning(
            "metrics: %s cannot serve on %s:%d (%s); running without metrics", kind, METRICS_HOST, port, exc
        )
        return None
    _started[kind] = server
    log.info("metrics: %s serving on http://%s:%d/metrics", kind, METRICS_HOST, port)
    return port
