"""Sign-up, log-in and log-out with Django sessions (the JSON API accepts the same session)."""

from django import forms
from django.contrib.auth import login, logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from commerce.abuse.throttles import throttle_form_post
from commerce.abuse.velocity import note_account_created
from frontend.messages import friendly


class SignupForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        min_length=3,
        max_length=150,
        help_text="3 or more letters, digits or @ . + - _",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        min_length=8,
        max_length=128,
        help_text="At least 8 characters.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    return target if url_has_allowed_host_and_scheme(target, {request.get_host()}) else "/"


@throttle_form_post("login")  # per username tried and per IP, as the token endpoint
def login_view(request: HttpRequest) -> HttpResponse:
    form = AuthenticationForm(request, data=request.POST or None)
    form.error_messages["invalid_login"] = friendly("authentication_failed")
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user())
        return redirect(_next(request))
    return render(request, "frontend/login.html", {"form": form, "next": _next(request)})


@throttle_form_post("signup")
def signup_view(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    username=form.cleaned_data["username"],
                    email=form.cleaned_data.get("email", ""),
                    password=form.cleaned_data["password"],
                )
        except IntegrityError:
            form.add_error("username", friendly("username_taken"))
        else:
            if user.email:  # confirm the address before any notification mail goes there
                from notifications.services.accounts import send_verification

                send_verification(user=user)
            note_account_created(user_id=user.pk, request=request)  # velocity: accounts per IP
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(_next(request))
    return render(request, "frontend/signup.html", {"form": form, "next": _next(request)})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/")
