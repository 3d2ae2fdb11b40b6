"""Django admin for the event backbone: dead letters (with re-drive), outbox, inbox, read models
(with a replay from the log that checks the live read model against the rebuild)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from realtime.deadletter import DeliveryFailed, redrive
from realtime.models import DeadLetter, InboxEntry, OutboxEvent, SalesByDrop
from realtime.projections import sales
from realtime.replay import rebuild


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the backbone: visible, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = (
        "failed_at",
        "group",
        "event_type",
        "error_code",
        "topic",
        "partition",
        "offset",
        "redrive_count",
    )
    list_filter = ("group", "error_code", "event_type")
    search_fields = ("event_id", "error", "key")
    readonly_fields = (
        "group",
        "topic",
        "partition",
        "offset",
        "key",
        "value_text",
        "headers",
        "event_id",
        "event_type",
        "error_code",
        "error",
        "attempts",
        "failed_at",
        "redriven_at",
        "redrive_count",
    )
    exclude = ("value",)
    actions = ("redrive_selected",)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Every field is read-only; the change permission only gates the re-drive action.
        return bool(request.user.has_perm("realtime.change_deadletter"))

    @admin.display(description="value")
    def value_text(self, obj: DeadLetter) -> str:
        return bytes(obj.value).decode("utf-8", "replace")

    @admin.action(description="Re-drive: publish again to the original topic for this group")
    def redrive_selected(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        done = 0
        for dead_letter in queryset.order_by("topic", "partition", "offset"):
            try:
                redrive(dead_letter=dead_letter)
                done += 1
            except DeliveryFailed as exc:
                self.message_user(request, f"{dead_letter}: {exc}", level=messages.ERROR)
        if done:
            self.message_user(request, f"re-drove {done} message(s)", level=messages.SUCCESS)


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("sequence", "type", "aggregatetype", "aggregateid", "created_at", "published_at")
    list_filter = ("type", "aggregatetype")
    search_fields = ("id", "aggregateid", "trace_id")


@admin.register(InboxEntry)
class InboxEntryAdmin(ReadOnlyAdmin):
    list_display = ("processed_at", "group", "event_type", "event_id")
    list_filter = ("group", "event_type")
    search_fields = ("event_id",)


@admin.register(SalesByDrop)
class SalesByDropAdmin(ReadOnlyAdmin):
    list_display = ("drop_id", "currency", "units", "gross", "sales")
    list_filter = ("currency",)
    change_list_template = "admin/realtime/salesbydrop/change_list.html"
    projection = sales.NAME

    def get_urls(self) -> list[URLPattern]:
        replay = path(
            "replay/", self.admin_site.admin_view(self.replay_view), name="realtime_salesbydrop_replay"
        )
        return [replay, *super().get_urls()]

    def replay_view(self, request: HttpRequest) -> HttpResponse:
        """GET: what a replay does; POST: rebuild the read model from the log and show the check.

        The same service as `manage.py replay sales --check`. It reads the whole log, so it runs
        in this request (no transaction is open around it) and only superusers may start it; it
        writes only the `_rebuild` table, never the live one.
        """
        if not request.user.is_superuser:
            raise PermissionDenied
        result = rebuild(self.projection) if request.method == "POST" else None
        if result is not None:
            level = messages.ERROR if result.differences else messages.SUCCESS
            self.message_user(request, f"{self.projection}: {result.verdict()}", level=level)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Replay the {self.projection} read model from the log",
            "projection": self.projection,
            "result": result,
        }
        return TemplateResponse(request, "admin/realtime/replay.html", context)
