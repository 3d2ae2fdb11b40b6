"""Admin: the e-mail outbox (with re-drive of dead letters) and the in-app notifications."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.models import EmailOptOut, Notification, OutgoingEmail, VerifiedEmail
from notifications.services.mailer import redrive


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "to_address",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "created_at",
    ]
    list_filter = ["status", "kind", "category"]
    search_fields = ["to_address", "key", "subject", "message_id"]
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields]
    actions = ["redrive_dead"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Re-drive: send the selected dead e-mails again")
    def redrive_dead(self, request: HttpRequest, queryset: QuerySet[OutgoingEmail]) -> None:
        count = redrive(email_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} e-mail(s) queued again.", messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "kind", "title", "warning", "created_at", "read_at"]
    list_filter = ["kind", "category", "warning"]
    search_fields = ["user__username", "title", "key"]
    readonly_fields = [f.name for f in Notification._meta.fields]


admin.site.register(EmailOptOut)
admin.site.register(VerifiedEmail)
