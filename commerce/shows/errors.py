"""The error tree of live shows; codes are stable, clients switch on them."""

from config.errors import ApplicationError


class ShowError(ApplicationError):
    code = "show_error"
    http_status = 400


class ShowNotFound(ShowError):
    """Unknown show, or one the caller may not manage (we never reveal which)."""

    code = "not_found"
    http_status = 404


class ShowNotLive(ShowError):
    code = "show_not_live"
    http_status = 409


class InvalidShowTransition(ShowError):
    code = "invalid_transition"
    http_status = 409


class ProductNotFound(ShowError):
    """The product is not one of this merchant's active products."""

    code = "product_not_found"
    http_status = 404


class NothingPinned(ShowError):
    code = "nothing_pinned"
    http_status = 409


class InvalidShowData(ShowError):
    code = "invalid_show_data"
    http_status = 422


class ChatError(ShowError):
    code = "chat_error"
    http_status = 400


class ChatNotAuthenticated(ChatError):
    code = "not_authenticated"
    http_status = 401


class ChatMessageInvalid(ChatError):
    code = "chat_message_invalid"
    http_status = 400


class ChatMessageTooLong(ChatError):
    code = "chat_message_too_long"
    http_status = 400


class ChatMarkupRefused(ChatError):
    code = "chat_markup_refused"
    http_status = 400


class ChatRateLimited(ChatError):
    code = "chat_rate_limited"
    http_status = 429
    retriable = True


class ChatMuted(ChatError):
    code = "chat_muted"
    http_status = 403


class ChatClosed(ChatError):
    """Chat is open while a show is scheduled or live, not after it ended."""

    code = "chat_closed"
    http_status = 409


class NotHost(ShowError):
    code = "not_host"
    http_status = 403


class MessageNotFound(ShowError):
    code = "message_not_found"
    http_status = 404
