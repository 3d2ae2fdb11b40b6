"""The public token metadata endpoint (the collection's base URI points here)."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from config.api_errors import error_body
from nft import selectors
from nft.errors import NftError


@require_GET
def token_metadata(request: HttpRequest, chain_id: int, contract: str, token_id: str) -> JsonResponse:
    """ERC-721 metadata JSON (name, description, image, animation_url, attributes)."""
    try:
        doc = selectors.token_metadata(
            chain_id=chain_id, contract=contract, token_id=selectors.parse_token_id(token_id)
        )
    except NftError as exc:
        return JsonResponse(error_body(exc.code, exc.message, exc.details), status=exc.http_status)
    response = JsonResponse(doc)
    response["Cache-Control"] = "public, max-age=60"
    response["Access-Control-Allow-Origin"] = "*"  # wallets and marketplaces fetch it from anywhere
    return response
