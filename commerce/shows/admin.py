"""Admin for live shows and chat moderation; every action calls a show service (no logic here).

Rows that the services write with an event (pins, flash drops, messages, mutes) are read-only
here: a row added or edited in a form would have no `show.*` event and no frame for viewers.
Moderation actions act as the signed-in admin user, so the services' rule holds: only staff of
the show's merchant (its hosts) may moderate it; anyone else gets the service's refusal.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from commerce.admin.actions import run_per_object
from commerce.shows.errors import ShowError
from commerce.shows.models import ChatMessage, FlashDrop, Show, ShowMute, ShowPin
from commerce.shows.services import chat, lifecycle, pins


def _run(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects: QuerySet,
    verb: str,
    call: Callable[[Any], object],
) -> None:
    run_per_object(modeladmin, request, objects, verb, call, refused=ShowError)


def _moderator(request: HttpRequest) -> int:
    """The signed-in admin user, who moderates (the admin site only lets signed-in staff in)."""
    return int(request.user.pk)  # type: ignore[arg-type]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows only the services write: list, search and inspect (the change page is a read-only view);
    no add, edit or hard delete. Actions that call services stay available."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ShowPinInline(admin.TabularInline):
    model = ShowPin
    extra = 0
    fields = ["product", "pinned_at", "unpinned_at"]
    readonly_fields = ["product", "pinned_at", "unpinned_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Show)
class ShowAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "title",
        "merchant",
        "state",
        "scheduled_at",
        "started_at",
        "ended_at",
        "pinned_product",
    ]
    list_filter = ["state", "merchant"]
    search_fields = ["title"]
    date_hierarchy = "scheduled_at"
    # State, pin and flash drop change only through the services (with their events and frames).
    readonly_fields = [
        "state",
        "started_at",
        "ended_at",
        "pinned_product",
        "flash_drop",
        "created_at",
        "updated_at",
    ]
    inlines = [ShowPinInline]
    actions = ["go_live", "end", "unpin"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a show's timeline is history (and its events are in Kafka): end it instead

    @admin.action(description="Go live with selected shows")
    def go_live(self, request: HttpRequest, queryset: QuerySet[Show]) -> None:
        _run(self, request, queryset, "Went live",
             lambda s: lifecycle.go_live(show_id=s.pk, merchant_id=s.merchant_id))  # fmt: skip

    @admin.action(description="End selected shows")
    def end(self, request: HttpRequest, queryset: QuerySet[Show]) -> None:
        _run(self, request, queryset, "Ended",
             lambda s: lifecycle.end_show(show_id=s.pk, merchant_id=s.merchant_id))  # fmt: skip

    @admin.action(description="Unpin the pinned product of selected shows")
    def unpin(self, request: HttpRequest, queryset: QuerySet[Show]) -> None:
        _run(self, request, queryset, "Unpinned",
             lambda s: pins.unpin_product(show_id=s.pk, merchant_id=s.merchant_id))  # fmt: skip


@admin.register(ShowPin)
class ShowPinAdmin(ReadOnlyAdmin):
    list_display = ["id", "show", "product", "pinned_at", "unpinned_at"]
    list_filter = ["show__merchant"]
    list_select_related = ["show", "product"]


@admin.register(FlashDrop)
class FlashDropAdmin(ReadOnlyAdmin):
    list_display = ["id", "show", "drop", "product", "launched_at"]
    list_select_related = ["show", "drop", "product"]


@admin.register(ChatMessage)
class ChatMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "show", "user", "text", "is_host", "created_at", "deleted_at", "deleted_by"]
    list_filter = ["is_host", ("deleted_at", admin.EmptyFieldListFilter), "show__merchant"]
    search_fields = ["text", "user__username"]
    list_select_related = ["show", "user", "deleted_by"]
    date_hierarchy = "created_at"
    actions = ["delete_for_viewers", "mute_authors"]

    @admin.action(description="Delete (hide from viewers) selected messages")
    def delete_for_viewers(self, request: HttpRequest, queryset: QuerySet[ChatMessage]) -> None:
        _run(self, request, queryset, "Deleted", lambda m: chat.delete_message(
            show_id=m.show_id, message_id=m.pk, moderator_id=_moderator(request)))  # fmt: skip

    @admin.action(description="Mute the authors of selected messages in their show")
    def mute_authors(self, request: HttpRequest, queryset: QuerySet[ChatMessage]) -> None:
        _run(self, request, queryset, "Muted", lambda m: chat.mute_user(
            show_id=m.show_id, user_id=m.user_id, moderator_id=_moderator(request), reason="admin"))  # fmt: skip


@admin.register(ShowMute)
class ShowMuteAdmin(ReadOnlyAdmin):
    list_display = ["id", "show", "user", "muted_by", "reason", "created_at"]
    list_select_related = ["show", "user", "muted_by"]
    search_fields = ["user__username"]
    actions = ["unmute"]

    @admin.action(description="Lift selected mutes")
    def unmute(self, request: HttpRequest, queryset: QuerySet[ShowMute]) -> None:
        _run(self, request, queryset, "Unmuted", lambda m: chat.unmute_user(
            show_id=m.show_id, user_id=m.user_id, moderator_id=_moderator(request)))  # fmt: skip
