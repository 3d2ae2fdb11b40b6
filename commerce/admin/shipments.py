"""Admin for shipments: the To-ship queue across merchants; shipping, delivery and "cannot ship" go through the services."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from commerce.admin.drops import _run
from commerce.carriers import CARRIERS
from commerce.errors import CommerceError
from commerce.models import Shipment, ShipmentLine, ShipmentStatus
from commerce.services import shipments


class ShipmentAdminForm(forms.ModelForm):
    """Only carrier + tracking number are typed in; saving them ships a pending shipment."""

    carrier = forms.ChoiceField(
        choices=[("", "—"), *((c.code, c.name) for c in CARRIERS.values())], required=False
    )
    tracking_number = forms.CharField(max_length=64, required=False)

    class Meta:
        model = Shipment
        fields = ["carrier", "tracking_number"]


class ShipmentLineInline(admin.TabularInline):
    model = ShipmentLine
    extra = 0
    can_delete = False
    readonly_fields = ["line"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    form = ShipmentAdminForm
    list_display = ["id", "merchant", "order", "redemption_id", "buyer", "status", "carrier", "tracking_number", "created_at", "shipped_at"]  # fmt: skip
    list_filter = ["status", "carrier", "merchant"]
    search_fields = ["id", "order__id", "redemption_id", "tracking_number", "buyer__username"]
    list_select_related = ["merchant", "order", "buyer"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "merchant", "buyer", "order", "redemption_id", "sku", "status", "shipping_address", "pick_list",
        "tracking_url", "cancel_reason", "created_at", "shipped_at", "delivered_at", "cancelled_at", "shipped_by",
    ]  # fmt: skip
    inlines = [ShipmentLineInline]
    actions = ["deliver", "cannot_ship"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is not None and obj.status != ShipmentStatus.PENDING:
            return [*self.readonly_fields, "carrier", "tracking_number"]
        return list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Shipment, form: Any, change: bool) -> None:
        carrier, number = form.cleaned_data.get("carrier"), form.cleaned_data.get("tracking_number")
        if not (carrier and number):
            return  # nothing typed in: nothing to do (the row itself is not edited here)
        try:
            shipments.mark_shipped(
                shipment_id=obj.pk,
                merchant_id=obj.merchant_id,
                carrier=carrier,
                tracking_number=number,
                user_id=request.user.pk,
            )
        except CommerceError as exc:
            self.message_user(request, f"{obj}: {exc.message}", level=messages.ERROR)

    @admin.action(description="Mark selected shipped shipments delivered")
    def deliver(self, request: HttpRequest, queryset: QuerySet[Shipment]) -> None:
        _run(self, request, queryset, "Delivered",
             lambda s: shipments.mark_delivered(shipment_id=s.pk, merchant_id=s.merchant_id))  # fmt: skip

    @admin.action(description="Cannot ship selected shipments (refunds their order lines)")
    def cannot_ship(self, request: HttpRequest, queryset: QuerySet[Shipment]) -> None:
        _run(self, request, queryset, "Cancelled",
             lambda s: shipments.cancel_shipment(shipment_id=s.pk, merchant_id=s.merchant_id,
                                                 reason="cannot ship (admin)"))  # fmt: skip
