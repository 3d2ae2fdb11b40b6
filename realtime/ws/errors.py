"""Errors of the live WebSocket layer; each maps to an error frame or a close code."""

from config.errors import ApplicationError


class WsError(ApplicationError):
    code = "ws_error"
    http_status = 400


class MalformedMessage(WsError):
    """The client sent something that is not a protocol message; the socket stays open."""

    code = "malformed_message"


class UnknownMessageType(WsError):
    code = "unknown_message_type"


class Unauthorised(WsError):
    """No identity, or an identity without the right to this stream (closed with CLOSE_FORBIDDEN)."""

    code = "forbidden"
    http_status = 403


class StreamNotFound(WsError):
    code = "not_found"
    http_status = 404


class Unauthenticated(WsError):
    """No session and no valid API token on a stream that needs one (closed with 4401)."""

    code = "unauthenticated"
    http_status = 401
