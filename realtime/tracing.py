"""The trace id carried from an HTTP request or a consumed event into every event it causes."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_trace_id: ContextVar[str | None] = ContextVar("mintdrop_trace_id", default=None)


def current_trace_id() -> str:
    """The trace id of the work in progress, or a fresh one if nothing set it."""
    return _trace_id.get() or uuid.uuid4().hex


@contextmanager
def trace(trace_id: str | None) -> Iterator[str]:
    """Run a block under `trace_id` (a fresh one if None), restoring the previous one after."""
    value = trace_id or uuid.uuid4().hex
    token = _trace_id.set(value)
    try:
        yield value
    finally:
        _trace_id.reset(token)
