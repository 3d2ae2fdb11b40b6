"""OpenTelemetry set-up for one process: `configure_tracing("relay")` at its start.

Spans leave through a batch span processor (a background thread; a full queue drops spans, it
never blocks the request or the consumer) and the OTLP/HTTP exporter, to Jaeger in dev
(`ops/start jaeger`; OTEL_EXPORTER_OTLP_ENDPOINT, set by ops/env.sh) or any OTLP back end.

Off switch: MINTDROP_TRACING=0, or the standard OTEL_SDK_DISABLED=true. Off means no provider,
no exporter thread, no middleware, and `realtime.tracing` helpers that cost one boolean test.
The standard OTEL_* variables (endpoint, headers, sampler, batch sizes) apply as usual.
"""

import logging
import os
from typing import Any

from django.conf import settings

from realtime import tracing

log = logging.getLogger(__name__)

_provider: Any = None  # the SDK TracerProvider of this process, once configured


def tracing_enabled() -> bool:
    """The setting (MINTDROP_TRACING) and the SDK's own kill switch (OTEL_SDK_DISABLED) both allow it."""
    sdk_disabled = os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    return bool(getattr(settings, "TRACING_ENABLED", False)) and not sdk_disabled


def service_name(process: str) -> str:
    """`mintdrop-<process>` unless OTEL_SERVICE_NAME names the service explicitly."""
    return os.environ.get("OTEL_SERVICE_NAME") or f"mintdrop-{process}"


def configure_tracing(process: str, *, exporter: Any = None, simple: bool = False) -> bool:
    """Turn tracing on in this process (once); returns whether it is on.

    `exporter` replaces the OTLP exporter and `simple` exports each span as it ends (tests).
    """
    global _provider
    if _provider is not None:
        return True
    if exporter is None and not tracing_enabled():
        return False
    from opentelemetry import trace as otel_trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # A short timeout keeps a dead collector from holding the export thread (the queue drops
        # spans meanwhile; it never blocks callers).
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
            settings.TRACING_OTLP_ENDPOINT.rstrip("/") + "/v1/traces"
        )
        exporter = OTLPSpanExporter(endpoint=endpoint, timeout=5)
    resource = Resource.create({"service.name": service_name(process), "service.namespace": "mintdrop"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter) if simple else BatchSpanProcessor(exporter))
    if not isinstance(otel_trace.get_tracer_provider(), TracerProvider):
        otel_trace.set_tracer_provider(provider)  # for any library instrumentation; ours uses `provider`
    _provider = provider
    tracing.set_tracer(provider.get_tracer("mintdrop"))
    log.info("tracing on: service %s", service_name(process))
    return True


def shutdown_tracing() -> None:
    """Export what is queued and stop the exporter thread (process exit, test teardown)."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
    _provider = None
    tracing.set_tracer(None)


def flush_tracing(timeout_s: float = 5.0) -> None:
    if _provider is not None:
        _provider.force_flush(int(timeout_s * 1000))
