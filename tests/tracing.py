"""Tracing in the test process: spans kept in memory (exported as each one ends) for assertions."""

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from config.tracing import configure_tracing, shutdown_tracing


class Spans:
    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name.startswith(prefix)]

    def one(self, prefix: str) -> ReadableSpan:
        found = self.named(prefix)
        assert len(found) == 1, f"expected one span named {prefix}*, got {[s.name for s in self.all()]}"
        return found[0]


def trace_hex(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


def span_hex(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.span_id, "016x")


def traceparent(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"00-{trace_hex(span)}-{span_hex(span)}-{int(span.context.trace_flags):02x}"


@contextmanager
def recording_spans() -> Iterator[Spans]:
    """Tracing on in this process for the block, every finished span in `Spans`; off again after."""
    exporter = InMemorySpanExporter()
    configure_tracing("test", exporter=exporter, simple=True)
    try:
        yield Spans(exporter)
    finally:
        shutdown_tracing()
