"""Admin for drops, their stock lines, buyer counters and reservations, with the drop actions."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from commerce.admin.actions import run_per_object
from commerce.errors import CommerceError
from commerce.models import Drop, DropBuyer, DropItem, Reservation
from commerce.models.reservations import ReservationStatus
from commerce.services import drops as drop_services
from commerce.services.reservations import cancel_reservation

COUNTERS = ["offered", "reserved", "sold"]


def _run(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects: QuerySet,
    verb: str,
    call: Callable[[Any], object],
) -> None:
    run_per_object(modeladmin, request, objects, verb, call, refused=CommerceError)


class DropItemInline(admin.TabularInline):
    model = DropItem
    extra = 0
    fields = ["sku", "price", "currency", "offered", "reserved", "sold"]
    readonly_fields = ["reserved", "sold"]
    autocomplete_fields = ["sku"]

    def get_readonly_fields(self, request, obj=None):
        # Once a drop is under way stock only changes through the services (restock action).
        if obj is not None and obj.state != "scheduled":
            return ["sku", "price", "currency", *COUNTERS]
        return self.readonly_fields


class RestockForm(ActionForm):
    quantity = forms.IntegerField(min_value=1, max_value=1_000_000, required=False, help_text="units to add")


@admin.register(Drop)
class DropAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "title",
        "merchant",
        "state",
        "starts_at",
        "ends_at",
        "per_buyer_limit",
        "state_changed_at",
    ]
    list_filter = ["state", "merchant"]
    search_fields = ["title"]
    date_hierarchy = "starts_at"
    readonly_fields = ["state", "state_changed_at", "created_at", "updated_at"]
    inlines = [DropItemInline]
    actions = ["start", "pause", "resume", "end"]

    @admin.action(description="Start selected drops now")
    def start(self, request: HttpRequest, queryset: QuerySet[Drop]) -> None:
        _run(self, request, queryset, "Started", lambda d: drop_services.start_drop(drop_id=d.pk))

    @admin.action(description="Pause selected drops")
    def pause(self, request: HttpRequest, queryset: QuerySet[Drop]) -> None:
        _run(self, request, queryset, "Paused", lambda d: drop_services.pause_drop(drop_id=d.pk))

    @admin.action(description="Resume selected drops")
    def resume(self, request: HttpRequest, queryset: QuerySet[Drop]) -> None:
        _run(self, request, queryset, "Resumed", lambda d: drop_services.resume_drop(drop_id=d.pk))

    @admin.action(description="End selected drops")
    def end(self, request: HttpRequest, queryset: QuerySet[Drop]) -> None:
        _run(self, request, queryset, "Ended", lambda d: drop_services.end_drop(drop_id=d.pk))


@admin.register(DropItem)
class DropItemAdmin(admin.ModelAdmin):
    # Counters of the item's own row, then its stock with the shards (see stock_split).
    list_display = [
        "id",
        "drop",
        "sku",
        "price",
        "currency",
        *COUNTERS,
        "stock_offered",
        "available",
        "shard_count",
    ]
    list_filter = ["drop__state", "drop__merchant"]
    search_fields = ["drop__title", "sku__code", "sku__product__title"]
    list_select_related = ["drop", "sku"]
    readonly_fields = COUNTERS
    action_form = RestockForm
    actions = ["restock"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DropItem]:
        return super().get_queryset(request).with_stock_totals().annotate(shards_n=Count("shards"))  # type: ignore[attr-defined]

    @admin.display(description="shards")
    def shard_count(self, item: DropItem) -> int:
        return int(getattr(item, "shards_n", 0))

    @admin.action(description="Restock selected lines (+ quantity)")
    def restock(self, request: HttpRequest, queryset: QuerySet[DropItem]) -> None:
        added = request.POST.get("quantity", "")
        if not added.isdigit() or int(added) < 1:
            self.message_user(request, "Enter the number of units to add.", level=messages.ERROR)
            return
        _run(
            self,
            request,
            queryset,
            f"Restocked +{added}",
            lambda item: drop_services.restock_drop_item(
                drop_id=item.drop_id, sku_id=item.sku_id, added=int(added)
            ),
        )


@admin.register(DropBuyer)
class DropBuyerAdmin(admin.ModelAdmin):
    list_display = ["id", "drop", "buyer", "units"]
    search_fields = ["buyer__username", "drop__title"]
    readonly_fields = ["drop", "buyer", "units"]


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "drop",
        "item",
        "buyer",
        "quantity",
        "status",
        "expires_at",
        "order",
        "release_reason",
    ]
    list_filter = ["status", "release_reason", "drop"]
    search_fields = ["id", "buyer__username"]
    list_select_related = ["drop", "item", "buyer", "order"]
    readonly_fields = [f.name for f in Reservation._meta.fields]
    actions = ["cancel"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Cancel selected reservations (release stock)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        _run(
            self,
            request,
            queryset.filter(status=ReservationStatus.ACTIVE),
            "Cancelled",
            lambda r: cancel_reservation(reservation_id=r.pk, buyer_id=r.buyer_id),
        )
