"""Which handler of which consumer group handles which event type.

Apps declare handlers in their `handlers.py`:

    @handles("saga", "payment.succeeded")
    def on_payment_succeeded(event: Event) -> None: ...

A handler runs inside the consumer's database transaction, in which the inbox row
(group, event id) is written too: whatever it changes commits together with "event seen",
so a redelivered event is a no-op. Types may be patterns (`inventory.*`) for projections.
Raise an error whose `retriable` is True to have the event retried with backoff; any other
error sends it to the dead-letter topic.

A handler may also have a batch form, for throughput:

    @batch_form_of(on_inventory_sold)
    def on_inventory_sold_batch(events: list[Event]) -> None: ...

It must have exactly the effect of calling the handler on each event in order (it runs without a
per-event trace context: one that emits events sets `trace(event.trace_id)` itself). The runner uses it
for runs of consecutive new events whose only handler is that one, in the same transaction; if the
batch fails, every event is replayed one by one through the plain handler (so the plain handler
decides what is retried and what is dead-lettered).
"""

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from django.utils.module_loading import autodiscover_modules

from realtime.events import Event

Handler = Callable[[Event], None]
BatchHandler = Callable[[list[Event]], None]


@dataclass(frozen=True)
class Registration:
    group: str
    pattern: str
    handler: Handler


_registrations: list[Registration] = []
_batch_forms: dict[Handler, BatchHandler] = {}


def handles(group: str, *patterns: str) -> Callable[[Handler], Handler]:
    """Register the decorated function for `patterns` in consumer group `group`."""

    def register(handler: Handler) -> Handler:
        for pattern in patterns:
            reg = Registration(group, pattern, handler)
            if reg not in _registrations:
                _registrations.append(reg)
        return handler

    return register


def batch_form_of(handler: Handler) -> Callable[[BatchHandler], BatchHandler]:
    """Declare the decorated function as `handler` applied to a list of events, in order."""

    def register(batch: BatchHandler) -> BatchHandler:
        _batch_forms[handler] = batch
        return batch

    return register


def batch_form(handler: Handler) -> BatchHandler | None:
    """The batch form of `handler`, if it has one."""
    return _batch_forms.get(handler)


def autodiscover() -> None:
    """Import every installed app's `handlers` module so its registrations run."""
    autodiscover_modules("handlers")


def groups() -> list[str]:
    """All consumer groups that have at least one handler."""
    autodiscover()
    return sorted({r.group for r in _registrations})


def registrations(group: str) -> list[Registration]:
    autodiscover()
    return [r for r in _registrations if r.group == group]


def handlers_for(group: str, event_type: str) -> list[Handler]:
    """The handlers of `group` whose pattern matches `event_type`, in registration order."""
    return [r.handler for r in registrations(group) if fnmatchcase(event_type, r.pattern)]
