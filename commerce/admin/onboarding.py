"""Admin review of seller applications (approve / reject with a reason) and the platform's fee plans."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from commerce.admin.actions import run_per_object
from commerce.errors import CommerceError
from commerce.models import ApplicationStatus, FeePlan, Merchant, SellerApplication
from commerce.payments.errors import PaymentsError
from commerce.payments.services.connect import ensure_connected_account
from commerce.services import fees, onboarding


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The applicant is told this reason.",
    )


@admin.register(SellerApplication)
class SellerApplicationAdmin(admin.ModelAdmin):
    list_display = ["id", "store_name", "contact_email", "country", "status", "created_at", "merchant"]
    list_filter = ["status", "country"]
    search_fields = ["store_name", "contact_email", "contact_name", "applicant__username"]
    readonly_fields = [
        "applicant",
        "store_name",
        "contact_name",
        "contact_email",
        "what_they_sell",
        "country",
        "status",
        "reject_reason",
        "reviewed_by",
        "reviewed_at",
        "merchant",
        "created_at",
    ]
    actions = ["approve", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # applications come from the storefront form / API

    @admin.action(description="Approve: create the merchant and its Stripe Connect account")
    def approve(self, request: HttpRequest, queryset: QuerySet[SellerApplication]) -> None:
        def approve_one(application: SellerApplication) -> None:
            approved = onboarding.approve_application(application_id=application.pk, reviewer=request.user)  # type: ignore[arg-type]
            assert approved.merchant_id is not None
            try:  # Stripe, after the approval committed; the owner's onboarding link retries it if this fails
                ensure_connected_account(merchant_id=approved.merchant_id)
            except PaymentsError as exc:
                self.message_user(
                    request,
                    f"{application}: approved; the Stripe account will be created when the owner opens "
                    f"onboarding ({exc.message})",
                    level=messages.WARNING,
                )

        run_per_object(self, request, queryset, "Approved", approve_one, refused=CommerceError)

    @admin.action(description="Reject with a reason…")
    def reject(self, request: HttpRequest, queryset: QuerySet[SellerApplication]) -> HttpResponse | None:
        if "apply" in request.POST:
            form = RejectForm(request.POST)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                run_per_object(
                    self,
                    request,
                    queryset,
                    "Rejected",
                    lambda a: onboarding.reject_application(
                        application_id=a.pk,
                        reviewer=request.user,  # type: ignore[arg-type]
                        reason=reason,
                    ),
                    refused=CommerceError,
                )
                return None
        else:
            form = RejectForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject seller applications",
            "form": form,
            "applications": queryset.filter(status=ApplicationStatus.PENDING),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/commerce/reject_applications.html", context)


class FeePlanForm(forms.ModelForm):
    class Meta:
        model = FeePlan
        fields = ["name", "percent_bps", "fixed_fees"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["fixed_fees"] = fees.check_fee_plan(
                percent_bps=data.get("percent_bps"), fixed_fees=data.get("fixed_fees") or {}
            )
        except CommerceError as exc:
            raise forms.ValidationError(exc.message) from exc
        return data


@admin.register(FeePlan)
class FeePlanAdmin(admin.ModelAdmin):
    form = FeePlanForm
    list_display = ["id", "name", "percent_bps", "fixed_fees", "updated_at"]


def merchant_fee_plan_saved(merchant: Merchant) -> None:
    """MerchantAdmin.save_model hook: a changed fee plan goes through the service (event included)."""
    fees.assign_fee_plan(merchant_id=merchant.pk, plan_id=merchant.fee_plan_id)
