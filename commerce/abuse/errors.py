"""The abuse error tree (mapped to the one error shape by config.api_errors)."""

from config.errors import ApplicationError


class AbuseError(ApplicationError):
    code = "abuse_error"
    http_status = 400


class BuyerBlocked(AbuseError):
    """The merchant blocked this buyer for the drop (or the whole shop)."""

    code = "buyer_blocked"
    http_status = 403


class NotFound(AbuseError):
    code = "not_found"
    http_status = 404


class InvalidBlock(AbuseError):
    code = "invalid_block"
    http_status = 400
