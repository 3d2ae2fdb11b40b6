"""Admin actions that call a service per selected row (no business logic in the admin)."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest


def run_per_object(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects: QuerySet,
    verb: str,
    call: Callable[[Any], object],
    *,
    refused: type[Exception],
) -> None:
    """Call a service per selected row; log each success in the admin log, report each `refused` error."""
    done = 0
    for obj in objects:
        try:
            call(obj)
        except refused as exc:
            modeladmin.message_user(request, f"{obj}: {getattr(exc, 'message', exc)}", level=messages.WARNING)
            continue
        modeladmin.log_change(request, obj, f"{verb} via admin action")
        done += 1
    if done:
        modeladmin.message_user(request, f"{verb}: {done} done.", level=messages.SUCCESS)
