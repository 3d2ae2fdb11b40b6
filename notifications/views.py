"""Pages: the account page (address, verification, password, e-mail preferences), the notification
centre, one-click unsubscribe and e-mail verification links."""

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from notifications.errors import NotificationsError
from notifications.forms import EmailForm, OutboxPasswordResetForm, PreferencesForm
from notifications.selectors import opted_out_categories, recent_notifications, unread_count
from notifications.services import accounts, centre, preferences
from notifications.services.record import has_verified_email


def _user(request: HttpRequest) -> User:
    """The signed-in user (views using it are behind login_required)."""
    assert isinstance(request.user, User)
    return request.user


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    email_form = EmailForm(initial={"email": user.email})
    prefs_form = PreferencesForm(opted_out=opted_out_categories(user_id=user.pk))
    if request.method == "POST" and request.POST.get("form") == "email":
        email_form = EmailForm(request.POST)
        if email_form.is_valid():
            sent = accounts.change_email(user=user, email=email_form.cleaned_data["email"])
            if sent is not None:
                messages.success(request, f"We sent a confirmation link to {user.email}.")
            return redirect("notifications:account")
    elif request.method == "POST" and request.POST.get("form") == "preferences":
        prefs_form = PreferencesForm(request.POST, opted_out=opted_out_categories(user_id=user.pk))
        if prefs_form.is_valid():
            preferences.set_email_preferences(user=user, enabled=prefs_form.enabled())
            messages.success(request, "Your e-mail preferences are saved.")
            return redirect("notifications:account")
    return render(
        request,
        "notifications/account/account.html",
        {
            "email_form": email_form,
            "prefs_form": prefs_form,
            "verified": has_verified_email(user),
        },
    )


@login_required
@require_POST
def resend_verification(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.email:
        accounts.send_verification(user=user)
        messages.success(request, f"We sent a new confirmation link to {user.email}.")
    return redirect("notifications:account")


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """Open from the e-mail (no login needed): the token names the user and the address."""
    try:
        user = accounts.verify_email(token=token)
    except NotificationsError as exc:
        return render(
            request,
            "notifications/account/link_result.html",
            {"ok": False, "message": exc.message},
            status=400,
        )
    return render(
        request,
        "notifications/account/link_result.html",
        {"ok": True, "message": f"Thank you: {user.email} is confirmed. You will get your receipts there."},
    )


@csrf_exempt  # RFC 8058: the mail provider POSTs "List-Unsubscribe=One-Click" without our cookie
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with one button (link scanners only GET); POST: unsubscribe. No login needed."""
    from notifications.categories import Category
    from notifications.tokens import read_unsubscribe_token

    try:
        if request.method == "POST":
            _, category = preferences.unsubscribe(token=token)
            done = True
        else:
            category = read_unsubscribe_token(token).category
            if category not in Category.values:
                raise NotificationsError("this unsubscribe link is not valid")
            done = False
    except NotificationsError as exc:
        return render(
            request,
            "notifications/account/link_result.html",
            {"ok": False, "message": exc.message},
            status=400,
        )
    label = Category(category).label
    return render(
        request,
        "notifications/account/unsubscribe.html",
        {"done": done, "label": label, "token": token},
    )


@login_required
def centre_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "notifications/centre.html",
        {"items": list(recent_notifications(user_id=_user(request).pk, limit=100))},
    )


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    found = centre.mark_read(user=request.user, notification_id=pk)
    if request.headers.get("Accept", "").startswith("application/json"):
        if not found:
            return JsonResponse(
                {"error": {"code": "not_found", "message": "no such notification", "details": {}}}, status=404
            )
        return JsonResponse({"unread": unread_count(user_id=_user(request).pk)})
    return redirect(request.POST.get("next") or "notifications:centre")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    centre.mark_all_read(user=request.user)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"unread": 0})
    return redirect("notifications:centre")


class PasswordResetView(auth_views.PasswordResetView):
    form_class = OutboxPasswordResetForm
    template_name = "notifications/account/password_reset.html"
    success_url = reverse_lazy("notifications:password-reset-done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "notifications/account/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "notifications/account/password_reset_confirm.html"
    success_url = reverse_lazy("notifications:password-reset-complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "notifications/account/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "notifications/account/password_change.html"
    success_url = reverse_lazy("notifications:account")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        accounts.send_password_changed(user=form.user)
        messages.success(self.request, "Your password is changed.")
        return response
