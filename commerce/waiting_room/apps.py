from django.apps import AppConfig


class WaitingRoomConfig(AppConfig):
    """Per-drop waiting room: queue, lottery, admission tokens (label `waiting_room`)."""

    name = "commerce.waiting_room"
    label = "waiting_room"
    verbose_name = "Waiting rooms"
    default_auto_field = "django.db.models.BigAutoField"
