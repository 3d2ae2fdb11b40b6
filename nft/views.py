"""Public pages of the chain layer: token metadata (the collection's base URI) and the verify page."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from config.api_errors import error_body
from nft import selectors
from nft.errors import NftError, TokenNotFound
from nft.verification import verify_token


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


@require_GET
def verify(request: HttpRequest, chain_id: int, contract: str, token_id: str) -> HttpResponse:
    """Anyone can check a token: product, serial, current owner and redemption, read from the chain."""
    try:
        token = verify_token(
            chain_id=chain_id, contract=contract, token_id=selectors.parse_token_id(token_id)
        )
    except TokenNotFound:
        raise Http404("no such token") from None
    except NftError as exc:  # the node is down: say so, never a 500
        return render(
            request, "nft/verify_unavailable.html", {"message": exc.message}, status=exc.http_status
        )
    return render(request, "nft/verify.html", {"token": token})


@login_required
@require_GET
def redeem(request: HttpRequest, chain_id: int, contract: str, token_id: str) -> HttpResponse:
    """The owner's redemption form (shipping address, then the wallet signs or we sign for custody)."""
    try:
        token = verify_token(
            chain_id=chain_id, contract=contract, token_id=selectors.parse_token_id(token_id)
        )
    except TokenNotFound:
        raise Http404("no such token") from None
    except NftError as exc:
        return render(
            request, "nft/verify_unavailable.html", {"message": exc.message}, status=exc.http_status
        )
    return render(request, "nft/redeem.html", {"token": token})
