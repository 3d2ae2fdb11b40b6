"""The in-app notification centre: mark read, mark all read (the badge follows over the socket)."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications import push
from notifications.models import Notification


@transaction.atomic
def mark_read(*, user: Any, notification_id: int) -> bool:
    """Mark one of the user's notifications read; False if it is not theirs (or does not exist)."""
    exists = Notification.objects.filter(pk=notification_id, user=user).exists()
    if not exists:
        return False
    Notification.objects.filter(pk=notification_id, user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    transaction.on_commit(lambda: push.unread_changed(user_id=user.pk))
    return True


@transaction.atomic
def mark_all_read(*, user: Any) -> int:
    count = Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
    transaction.on_commit(lambda: push.unread_changed(user_id=user.pk))
    return count
