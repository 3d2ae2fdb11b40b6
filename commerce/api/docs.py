"""OpenAPI helpers: every endpoint lists the error answers it can give, in the one error shape."""

from drf_spectacular.utils import OpenApiResponse

from commerce.api.serializers import ErrorSerializer

_DESCRIPTIONS = {
    400: "Invalid input (`validation_error`, `malformed_request`, `invalid_quantity`, `invalid_idempotency_key`, "
    "`challenge_invalid`, "
    "`shipping_address_required`, `unknown_carrier`, `invalid_shipment_data`).",
    401: "Not logged in (`not_authenticated`, `authentication_failed`).",
    403: "Not allowed (`permission_denied`, `ownership_not_proven`, `chat_muted`; `buyer_blocked`: the seller "
    "blocked this buyer for the drop; in a drop with a waiting room: `admission_required`, `admission_invalid`, "
    "`admission_expired`, `admission_not_yours`, `admission_used`).",
    404: "Unknown id, or one that belongs to someone else (`not_found`).",
    409: "Conflict with the current state (`show_not_live`, `chat_closed`, `sold_out`, `limit_exceeded`, `drop_not_live`, "
    "`reservation_expired`, `reservation_not_active`, `no_reservations`, `invalid_transition`, "
    "`drop_not_editable`).",
    502: "An upstream service refused the call (`chain_rejected`, `stripe_rejected`).",
    422: "Well-formed but unacceptable (`idempotency_key_reused`, `mixed_merchants`, `edition_exceeded`, "
    "`invalid_catalog_data`).",
    429: "Too many requests (`throttled`, `chat_rate_limited`): retry after the `Retry-After` header's seconds (also "
    "`details.retry_after`); nothing was changed.",
    503: "Busy or unavailable, retry shortly (`stock_busy`: every stock row with room was being taken at that "
    "instant; `waiting_room_paused`: the queue is being rebuilt, see `Retry-After`; an upstream service is "
    "unreachable or not configured: `chain_unavailable`, `stripe_unavailable`, `signer_not_configured`); "
    "nothing was changed.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Response entries for `extend_schema(responses=...)`."""
    return {s: OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[s]) for s in statuses}


def chain_errors() -> dict[int, OpenApiResponse]:
    """Answers of endpoints that read the chain: the node refused the call (502) or is down (503)."""
    return errors(502, 503)
