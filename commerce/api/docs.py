"""OpenAPI helpers: every endpoint lists the error answers it can give, in the one error shape."""

from drf_spectacular.utils import OpenApiResponse

from commerce.api.serializers import ErrorSerializer

_DESCRIPTIONS = {
    400: "Invalid input (`validation_error`, `malformed_request`, `invalid_quantity`, `invalid_idempotency_key`, "
    "`challenge_invalid`, "
    "`shipping_address_required`, `unknown_carrier`, `invalid_shipment_data`).",
    401: "Not logged in (`not_authenticated`, `authentication_failed`).",
    403: "Not allowed (`permission_denied`, `ownership_not_proven`).",
    404: "Unknown id, or one that belongs to someone else (`not_found`).",
    409: "Conflict with the current state (`sold_out`, `limit_exceeded`, `drop_not_live`, "
    "`reservation_expired`, `reservation_not_active`, `no_reservations`, `invalid_transition`, "
    "`drop_not_editable`).",
    422: "Well-formed but unacceptable (`idempotency_key_reused`, `mixed_merchants`, `edition_exceeded`, "
    "`invalid_catalog_data`).",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Response entries for `extend_schema(responses=...)`."""
    return {s: OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[s]) for s in statuses}


def chain_errors() -> dict[int, OpenApiResponse]:
    """Answers of endpoints that read the chain: the node is down (503) or refused the call (502)."""
    return {
        502: OpenApiResponse(
            ErrorSerializer, description="The chain node refused the call (`chain_rejected`)."
        ),
        503: OpenApiResponse(
            ErrorSerializer,
            description="The chain node is unreachable or no key is configured, retry later "
            "(`chain_unavailable`, `signer_not_configured`, `fee_cap_exceeded`).",
        ),
    }
