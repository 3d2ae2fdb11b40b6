"""Admin: an order's payment, refunds and saga timeline; actions refund (full / lines) and retry."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from commerce.payments.errors import PaymentsError
from commerce.payments.models import (
    PaymentAttempt,
    PaymentOrder,
    Refund,
    SagaLine,
    SagaStep,
    SavedCard,
    StripeEvent,
)
from commerce.payments.services.operator import (
    REFUNDABLE_LINES,
    refund_in_full,
    refund_lines,
    retry_failed_steps,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SagaStepInline(ReadOnlyInline):
    model = SagaStep
    fields = ("at", "step", "outcome", "line", "stripe_event_id", "detail")
    readonly_fields = fields
    verbose_name_plural = "saga timeline"


class PaymentAttemptInline(ReadOnlyInline):
    model = PaymentAttempt
    fields = (
        "attempt",
        "payment_intent_id",
        "status",
        "stripe_status",
        "amount",
        "currency",
        "idempotency_key",
        "last_error",
    )
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fk_name = "order"
    fields = (
        "created_at",
        "line",
        "amount",
        "currency",
        "status",
        "source",
        "reason",
        "stripe_refund_id",
        "attempts",
        "last_error",
    )
    readonly_fields = fields


class SagaLineInline(ReadOnlyInline):
    model = SagaLine
    fk_name = "order"
    fields = ("line", "mint_status", "mint_request_count", "tx_hash", "shipment_requested", "failed_reason")
    readonly_fields = fields
    verbose_name_plural = "fulfilment per line"


class RefundLinesForm(forms.Form):
    lines = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False)
    full = forms.BooleanField(required=False, label="Refund everything that is left instead")


@admin.register(PaymentOrder)
class PaymentOrderAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "saga_state",
        "payment_status",
        "total",
        "currency",
        "buyer",
        "created_at",
    )
    list_filter = ("status", "saga__state")
    search_fields = ("id", "payment_intent_id", "buyer__username")
    readonly_fields = (
        "buyer",
        "merchant",
        "drop",
        "status",
        "status_reason",
        "total",
        "currency",
        "refunded_amount",
        "payment_intent_id",
        "created_at",
        "paid_at",
        "closed_at",
        "saga_state",
        "payment_status",
        "refund_link",
    )
    fields = readonly_fields
    inlines = (PaymentAttemptInline, RefundInline, SagaLineInline, SagaStepInline)
    actions = ("action_refund_full", "action_retry")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PaymentOrder]:
        return super().get_queryset(request).select_related("saga", "buyer")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="saga")
    def saga_state(self, obj: PaymentOrder) -> str:
        saga = getattr(obj, "saga", None)
        return saga.state if saga else "-"

    @admin.display(description="payment")
    def payment_status(self, obj: PaymentOrder) -> str:
        saga = getattr(obj, "saga", None)
        return (saga.payment_status or "-") if saga else "-"

    @admin.display(description="refund")
    def refund_link(self, obj: PaymentOrder) -> str:
        from django.utils.html import format_html

        url = reverse("admin:payments_paymentorder_refund", args=[obj.pk])
        return format_html('<a class="button" href="{}">Refund lines or in full…</a>', url)

    @admin.action(description="Refund in full (idempotent)")
    def action_refund_full(self, request: HttpRequest, queryset: QuerySet[PaymentOrder]) -> None:
        for order in queryset:
            try:
                refund = refund_in_full(order_id=order.pk, actor=request.user.get_username())
                self.message_user(request, f"Order {order.pk}: {refund or 'nothing left to refund'}")
            except PaymentsError as exc:
                self.message_user(request, f"Order {order.pk}: {exc.message}", level=messages.ERROR)

    @admin.action(description="Retry failed or stuck saga steps")
    def action_retry(self, request: HttpRequest, queryset: QuerySet[PaymentOrder]) -> None:
        for order in queryset:
            try:
                done = retry_failed_steps(order_id=order.pk, actor=request.user.get_username())
                self.message_user(request, f"Order {order.pk}: {'; '.join(done) or 'nothing to retry'}")
            except PaymentsError as exc:
                self.message_user(request, f"Order {order.pk}: {exc.message}", level=messages.ERROR)

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "<int:pk>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="payments_paymentorder_refund",
            )
        ]
        return extra + super().get_urls()

    def refund_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Choose lines to refund (partial) or refund what is left (full); both idempotent."""
        order = get_object_or_404(PaymentOrder, pk=pk)
        if not self.has_change_permission(request, order):
            return HttpResponseRedirect(reverse("admin:index"))
        form = RefundLinesForm(request.POST or None)
        refundable = order.lines.filter(status__in=REFUNDABLE_LINES)
        lines_field = form.fields["lines"]
        assert isinstance(lines_field, forms.MultipleChoiceField)
        lines_field.choices = [
            (str(line.pk), f"{line} — {line.amount} {line.currency}") for line in refundable
        ]
        if request.method == "POST" and form.is_valid():
            actor = request.user.get_username()
            try:
                if form.cleaned_data["full"]:
                    refund_in_full(order_id=order.pk, actor=actor)
                else:
                    refund_lines(
                        order_id=order.pk, line_ids=[int(x) for x in form.cleaned_data["lines"]], actor=actor
                    )
                self.message_user(request, "Refund requested; its result appears on the timeline.")
            except PaymentsError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:payments_paymentorder_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "order": order,
            "form": form,
            "opts": self.model._meta,
            "title": f"Refund order {order.pk}",
        }
        return TemplateResponse(request, "admin/payments/refund.html", context)


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("stripe_event_id", "type", "order", "emitted_type", "ignored_reason", "received_at")
    list_filter = ("type", "emitted_type")
    search_fields = ("stripe_event_id", "payment_intent_id")
    readonly_fields = [f.name for f in StripeEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SavedCard)
class SavedCardAdmin(admin.ModelAdmin):
    """Cards saved for auction wins: read-only (the buyer saves and removes them; Stripe holds the card)."""

    list_display = ("user", "brand", "last4", "consented_at", "removed_at", "updated_at")
    list_filter = ("brand",)
    search_fields = ("user__username", "customer_id", "payment_method_id", "fingerprint")
    readonly_fields = [f.name for f in SavedCard._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
