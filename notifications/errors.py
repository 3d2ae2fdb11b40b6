"""The notifications package's errors (mapped to clear pages / the API error shape)."""

from config.errors import ApplicationError


class NotificationsError(ApplicationError):
    code = "notifications_error"
    http_status = 400


class InvalidLink(NotificationsError):
    """A verification / unsubscribe link that was forged, altered or is for something else."""

    code = "invalid_link"


class ExpiredLink(NotificationsError):
    """A signed link past its lifetime."""

    code = "expired_link"
