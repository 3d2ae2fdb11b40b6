"""The live room's block / unblock buttons (plain form posts from the merchant console)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from commerce import selectors as commerce_selectors
from commerce.abuse import blocks
from commerce.errors import NotFound as CommerceNotFound
from config.errors import ApplicationError


@login_required
@require_POST
def block_action(request: HttpRequest, merchant_id: int, pk: int, buyer_id: int, action: str) -> HttpResponse:
    """Block or unblock a buyer, then back to the live room with a message saying what happened."""
    try:
        merchant = commerce_selectors.merchant_for_member(user=request.user, merchant_id=merchant_id)  # type: ignore[arg-type]
    except CommerceNotFound:
        raise Http404("not a member of this merchant") from None
    if action not in ("block", "unblock"):
        raise Http404("no such action")
    scope = request.POST.get("scope", "drop")
    try:
        if action == "block":
            blocks.block_buyer(
                merchant_id=merchant.pk, drop_id=pk, buyer_id=buyer_id, scope=scope,
                reason=request.POST.get("reason", "")[:200], by_user_id=request.user.pk,
            )  # fmt: skip
            where = "the shop" if scope == "shop" else "this drop"
            messages.success(request, f"Buyer #{buyer_id} is blocked in {where}.")
        else:
            blocks.unblock_buyer(
                merchant_id=merchant.pk,
                drop_id=pk,
                buyer_id=buyer_id,
                scope=scope,
                by_user_id=request.user.pk,
            )
            messages.success(request, f"Buyer #{buyer_id} may buy again.")
    except ApplicationError as exc:
        if exc.http_status == 404:
            raise Http404(exc.message) from None
        messages.error(request, exc.message)
    return redirect(f"/console/{merchant.pk}/drops/{pk}/live/#flagged-buyers")
