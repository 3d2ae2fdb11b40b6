"""Storefront "sell with us" application form, and the merchant console's Money page
(Stripe onboarding, balance, upcoming payouts, fee per order, CSV export)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from commerce.models import SellerApplication, Settlement
from commerce.payments import merchant_money
from commerce.payments.services.connect import create_onboarding_link
from commerce.services import onboarding
from config.errors import ApplicationError
from frontend.messages import friendly
from frontend.views.console import _is_owner, _merchant


class SellerApplicationForm(forms.Form):
    store_name = forms.CharField(max_length=200, label="Store name")
    contact_name = forms.CharField(max_length=200, label="Your name")
    contact_email = forms.EmailField(max_length=254, label="Contact e-mail")
    what_they_sell = forms.CharField(
        max_length=2000, label="What do you sell?", widget=forms.Textarea(attrs={"rows": 4})
    )
    country = forms.RegexField(
        regex=r"^[A-Za-z]{2}\Z", label="Country", help_text="Two letters, e.g. US, JP, KW."
    )


@login_required
def sell(request: HttpRequest) -> HttpResponse:
    """Apply to sell; shows the state of the user's earlier applications."""
    form = SellerApplicationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                onboarding.submit_application(applicant=request.user, data=form.cleaned_data)  # type: ignore[arg-type]
            except ApplicationError as exc:
                messages.error(request, friendly(exc.code, exc.message))
                status = 400
            else:
                messages.success(request, "Thanks! We review applications within two working days.")
                return redirect("frontend:sell")
        else:
            messages.error(request, friendly("invalid_application"))
            status = 400
    applications = SellerApplication.objects.filter(applicant_id=request.user.pk)[:10]
    return render(request, "frontend/sell.html", {"form": form, "applications": applications}, status=status)


@login_required
def money(request: HttpRequest, merchant_id: int) -> HttpResponse:
    """Owners: Stripe onboarding state and link, balance, upcoming payouts, fee and net per order."""
    merchant = _merchant(request, merchant_id)
    if not _is_owner(request, merchant):
        raise PermissionDenied("only owners see the money page")
    if request.method == "POST":
        try:
            link = create_onboarding_link(merchant_id=merchant.pk)
        except ApplicationError as exc:
            messages.error(request, friendly(exc.code, exc.message))
        else:
            return redirect(link.url)
    return render(
        request,
        "frontend/console/money.html",
        {
            "merchant": merchant,
            "connect": merchant.settlement == Settlement.CONNECT,
            "stripe": merchant_money.stripe_money(merchant=merchant),
            "orders": merchant_money.order_money(merchant_id=merchant.pk, limit=200),
        },
    )


@login_required
def money_csv(request: HttpRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    if not _is_owner(request, merchant):
        raise PermissionDenied("only owners export the money")
    response = HttpResponse(merchant_money.orders_csv(merchant_id=merchant.pk), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="orders-{merchant.slug}.csv"'
    return response
