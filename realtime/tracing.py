"""Trace context carried from an HTTP request or a consumed event into every event it causes.

With tracing on (`config.tracing.configure_tracing()` ran in this process) the work in progress
is an OpenTelemetry span: `current_trace_id()` is its W3C trace id and `current_traceparent()`
its W3C `traceparent`, which the outbox stores with each event so the relay, the consumers, the
chain transaction and the projector continue the same trace.

With tracing off nothing here touches OpenTelemetry: `span()` is a no-op context, the
traceparent is "", and `current_trace_id()` falls back to the plain id `trace()` sets (what the
event envelope carried before spans existed), so the hot paths pay one boolean test.

Untrusted trace context (a `traceparent` header, an envelope field, a stored column) is parsed
leniently: anything malformed starts a new trace, never an error.
"""

import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags

_trace_id: ContextVar[str | None] = ContextVar("mintdrop_trace_id", default=None)

# version 00 (the only one defined); a later version may append fields after a dash.
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16

# Set by config.tracing.configure_tracing(); None means tracing is off in this process.
_tracer: otel_trace.Tracer | None = None

Attributes = Mapping[str, str | int | float | bool]


def set_tracer(tracer: otel_trace.Tracer | None) -> None:
    """Turn tracing on with `tracer` (or off with None). Only `config.tracing` calls this."""
    global _tracer
    _tracer = tracer


def enabled() -> bool:
    return _tracer is not None


def _active_context() -> SpanContext | None:
    ctx = otel_trace.get_current_span().get_span_context()
    return ctx if ctx.is_valid else None


def current_trace_id() -> str:
    """The trace id of the work in progress, or a fresh one if nothing set it."""
    if _tracer is not None and (ctx := _active_context()) is not None:
        return format(ctx.trace_id, "032x")
    return _trace_id.get() or uuid.uuid4().hex


def current_traceparent() -> str:
    """The W3C `traceparent` of the active span ("" when tracing is off or no span is active)."""
    if _tracer is None or (ctx := _active_context()) is None:
        return ""
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def current_log_ids() -> tuple[str, str] | None:
    """(trace id, span id) for a log line: the active span's; with no span, the plain trace id
    `trace()` set and "" for the span; None outside any traced work."""
    ctx = _active_context() if _tracer is not None else None
    if ctx is not None:
        return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
    plain = _trace_id.get()
    return (plain, "") if plain else None


def parse_traceparent(value: object) -> SpanContext | None:
    """The remote span context in a W3C `traceparent` value, or None if it is not a valid one."""
    if not isinstance(value, str) or len(value) > 512:
        return None
    m = _TRACEPARENT.match(value.strip().lower())
    if m is None:
        return None
    version, trace_id, span_id, flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest) or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(int(flags, 16)),
    )


def _parent(traceparent: object) -> otel_context.Context:
    """A context whose parent is `traceparent`; an empty one (a new trace) when it is not valid."""
    remote = parse_traceparent(traceparent)
    if remote is None:
        return otel_context.Context()
    return otel_trace.set_span_in_context(NonRecordingSpan(remote), otel_context.Context())


@contextmanager
def _span(
    name: str, kind: SpanKind, parent: object, attributes: Attributes | None, use_parent: bool
) -> Iterator[Span]:
    assert _tracer is not None
    ctx = _parent(parent) if use_parent else None
    with _tracer.start_as_current_span(name, context=ctx, kind=kind, attributes=attributes) as s:
        yield s


def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: str | None = None,
    attributes: Attributes | None = None,
) -> Any:
    """A context manager: a span named `name`, current while the block runs (no-op when off).

    `parent` None: a child of the active span. A string: the `traceparent` to continue (one that
    cannot be parsed, or "", starts a new trace). Yields the span, or None when tracing is off.
    """
    if _tracer is None:
        return nullcontext()
    return _span(name, kind, parent, attributes, parent is not None)


def stored_span(
    name: str, stored: str, *, kind: SpanKind = SpanKind.INTERNAL, attributes: Attributes | None = None
) -> Any:
    """`span()` for work on a row that stored its trace context: a child of the active span if
    there is one, else continuing `stored` (a beat job or the chain watcher picking the row up)."""
    if _tracer is None:
        return nullcontext()
    return _span(name, kind, stored, attributes, _active_context() is None)


def start_span(
    name: str, *, kind: SpanKind = SpanKind.INTERNAL, parent: str = "", attributes: Attributes | None = None
) -> Span | None:
    """A span that is not made current, for work that ends later (the caller ends it); None when off."""
    if _tracer is None:
        return None
    return _tracer.start_span(name, context=_parent(parent), kind=kind, attributes=attributes)


def traceparent_of(s: Span | None) -> str:
    """The `traceparent` naming span `s` ("" for None)."""
    if s is None:
        return ""
    ctx = s.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}" if ctx.is_valid else ""


def event_parent(event: Any, headers: Mapping[str, str] | None = None) -> str:
    """Where a consumed event's span hangs: the relay's span (Kafka header), else the emitter's
    (envelope); "" when neither is there (a new trace)."""
    if headers is not None:
        header = headers.get("traceparent", "")
        if parse_traceparent(header) is not None:
            return header
    return str(getattr(event, "traceparent", "") or "")


@contextmanager
def trace(trace_id: str | None) -> Iterator[str]:
    """Run a block under the plain `trace_id` (a fresh one if None), restoring the previous one after.

    Used by batch handlers (one call for many events) so the events they emit keep the envelope
    trace id of the event that caused them even with tracing off.
    """
    value = trace_id or uuid.uuid4().hex
    token = _trace_id.set(value)
    try:
        yield value
    finally:
        _trace_id.reset(token)
