"""OpenAPI pieces of the waiting room used by other endpoints."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

ADMISSION_HEADER = OpenApiParameter(
    name="Admission-Token",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Required when the drop has a waiting room: the `admission_token` of GET /drops/{id}/queue/ "
        "once admitted. Single use, bound to you and the drop, valid until `admission_expires_at_ms`; "
        "missing, forged, expired, used or someone else's -> 403 and nothing is reserved."
    ),
)
