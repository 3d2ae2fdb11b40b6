"""Errors of the event backbone."""

from config.errors import ApplicationError


class EventError(ApplicationError):
    code = "event_error"
    http_status = 500


class UnknownEventType(EventError):
    """No JSON Schema exists for this type and version."""

    code = "unknown_event_type"


class InvalidEvent(EventError):
    """A payload or envelope does not match its schema."""

    code = "invalid_event"


class OutsideTransaction(EventError):
    """`emit()` was called in autocommit mode, where the event could outlive a rolled-back change."""

    code = "outside_transaction"
