"""Merchant console: the team (invite, change role, remove; an owner always remains) and the payout address.

Every member sees the page; only owners change anything (a staff POST is a 403).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from commerce import selectors
from commerce.services import members
from commerce.services.collections import change_payout_address
from config.errors import ApplicationError
from frontend.forms import InviteMemberForm, MemberRoleForm, PayoutForm, RemoveMemberForm
from frontend.messages import friendly
from frontend.views.console import _is_owner, _merchant


def _apply(request: HttpRequest, merchant_id: int) -> str | None:
    """Run the posted change; the error to show, if any."""
    action = request.POST.get("action")
    if action == "invite":
        invite = InviteMemberForm(request.POST)
        if not invite.is_valid():
            return "Give an existing account's username (up to 150 characters) and a role."
        members.invite_member(merchant_id=merchant_id, **invite.cleaned_data)
        messages.success(request, f"{invite.cleaned_data['username']} joined the team.")
    elif action == "role":
        change = MemberRoleForm(request.POST)
        if not change.is_valid():
            return "Choose a member and a role."
        members.change_member_role(merchant_id=merchant_id, **change.cleaned_data)
        messages.success(request, "Role changed.")
    elif action == "remove":
        remove = RemoveMemberForm(request.POST)
        if not remove.is_valid():
            return "Choose a member."
        members.remove_member(merchant_id=merchant_id, **remove.cleaned_data)
        messages.success(request, "Member removed.")
    elif action == "payout":
        payout = PayoutForm(request.POST)
        if not payout.is_valid():
            return "The payout address must be 0x and 40 hex digits; the royalty 0 to 10000 basis points."
        change_payout_address(
            merchant_id=merchant_id,
            address=payout.cleaned_data["payout_address"],
            royalty_bps=payout.cleaned_data["royalty_bps"],
        )
        messages.success(request, "Payout address saved.")
    else:
        return "Unknown action."
    return None


@login_required
def team(request: HttpRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    is_owner = _is_owner(request, merchant)
    if request.method == "POST":
        if not is_owner:
            raise PermissionDenied("only owners manage the team and payouts")
        try:
            error = _apply(request, merchant.pk)
        except ApplicationError as exc:
            error = friendly(exc.code, exc.message)
        if error is None:
            return redirect("frontend:console-team", merchant_id=merchant.pk)
        messages.error(request, error)
    return render(
        request,
        "frontend/console/team.html",
        {
            "merchant": merchant,
            "is_owner": is_owner,
            "members": selectors.merchant_members(merchant_id=merchant.pk),
            "invite_form": InviteMemberForm(),
            "payout_form": PayoutForm(
                initial={"payout_address": merchant.payout_address, "royalty_bps": merchant.royalty_bps}
            ),
        },
        status=400 if request.method == "POST" else 200,
    )
