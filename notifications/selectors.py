"""Read queries of notifications."""

from typing import Any

from django.db.models import QuerySet

from notifications.models import EmailOptOut, Notification


def unread_count(*, user_id: int) -> int:
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()


def recent_notifications(*, user_id: int, limit: int = 50) -> QuerySet[Notification]:
    return Notification.objects.filter(user_id=user_id).order_by("-created_at", "-pk")[:limit]


def latest_for(*, user_id: int) -> dict[str, Any] | None:
    """The newest entry as JSON-ready data (for the badge's toast), or None."""
    n = Notification.objects.filter(user_id=user_id).order_by("-created_at", "-pk").first()
    if n is None:
        return None
    return {"id": n.pk, "title": n.title, "url": n.url, "warning": n.warning, "read": n.read_at is not None}


def opted_out_categories(*, user_id: int) -> set[str]:
    return set(EmailOptOut.objects.filter(user_id=user_id).values_list("category", flat=True))
