"""Template context for every page: the signed-in user's unread notification count (the badge)."""

from typing import Any

from django.http import HttpRequest

from notifications.selectors import unread_count


def unread(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_unread": unread_count(user_id=user.pk)}
