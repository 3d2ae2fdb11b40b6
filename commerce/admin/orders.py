"""Admin for orders and their lines; cancelling goes through the service (stock is released)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from commerce.admin.drops import _run
from commerce.models import Order, OrderLine
from commerce.services.cancellations import cancel_order

_LINE_FIELDS = (
    "sku", "kind", "title", "quantity", "unit_price", "currency", "status", "token_id",
    "ships", "nft_confirmed_at", "shipped_at",
)  # fmt: skip


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = _LINE_FIELDS
    readonly_fields = _LINE_FIELDS

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "buyer", "merchant", "drop", "status", "total", "currency", "created_at", "paid_at"]
    list_filter = ["status", "merchant", "currency"]
    search_fields = ["id", "buyer__username", "buyer__email", "payment_intent_id"]
    date_hierarchy = "created_at"
    list_select_related = ["buyer", "merchant", "drop"]
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderLineInline]
    actions = ["cancel"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Cancel selected orders awaiting payment (release stock)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        _run(
            self,
            request,
            queryset,
            "Cancelled",
            lambda o: cancel_order(order_id=o.pk, reason="cancelled in admin"),
        )


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "kind", "title", "quantity", "unit_price", "status", "token_id"]
    list_filter = ["kind", "status"]
    search_fields = ["title", "order__id", "token_id", "nft_contract_address"]
    readonly_fields = [f.name for f in OrderLine._meta.fields]

    def has_add_permission(self, request):
        return False
