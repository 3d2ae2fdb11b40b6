"""The root of every package's error tree (`commerce.errors`, `nft.errors`, ...).

Each error carries a stable machine-readable `code`, the HTTP status the API maps it to, and
whether retrying the same operation may succeed (`retriable`), which consumers and Celery tasks
use to choose between backoff and the dead-letter topic.
"""

from typing import Any, ClassVar


class ApplicationError(Exception):
    """A failure the application expects and can explain to its caller."""

    code: ClassVar[str] = "application_error"
    http_status: ClassVar[int] = 400
    retriable: ClassVar[bool] = False

    def __init__(self, message: str = "", *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.code.replace("_", " "))
        self.message = message or self.code.replace("_", " ")
        self.details = details or {}


class NotFound(ApplicationError):
    code = "not_found"
    http_status = 404


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    http_status = 403


class Conflict(ApplicationError):
    code = "conflict"
    http_status = 409


class ValidationFailed(ApplicationError):
    code = "validation_error"
    http_status = 400


class DependencyUnavailable(ApplicationError):
    """A real service (PostgreSQL, Kafka, the chain, Stripe) did not answer; try again later."""

    code = "dependency_unavailable"
    http_status = 503
    retriable = True
