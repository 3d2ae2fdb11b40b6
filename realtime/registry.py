"""Which handler of which consumer group handles which event type.

Apps declare handlers in their `handlers.py`:

    @handles("saga", "payment.succeeded")
    def on_payment_succeeded(event: Event) -> None: ...

A handler runs inside the consumer's database transaction, in which the inbox row
(group, event id) is written too: whatever it changes commits together with "event seen",
so a redelivered event is a no-op. Types may be patterns (`inventory.*`) for projections.
Raise an error whose `retriable` is True to have the event retried with backoff; any other
error sends it to the dead-letter topic.
"""

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from django.utils.module_loading import autodiscover_modules

from realtime.events import Event

Handler = Callable[[Event], None]


@dataclass(frozen=True)
class Registration:
    group: str
    pattern: str
    handler: Handler


_registrations: list[Registration] = []


def handles(group: str, *patterns: str) -> Callable[[Handler], Handler]:
    """Register the decorated function for `patterns` in consumer group `group`."""

    def register(handler: Handler) -> Handler:
        for pattern in patterns:
            reg = Registration(group, pattern, handler)
            if reg not in _registrations:
                _registrations.append(reg)
        return handler

    return register


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
