from django.apps import AppConfig


class RealtimeWsConfig(AppConfig):
    """Its own app label so it can carry management commands without touching `realtime`'s migrations."""

    name = "realtime.ws"
    label = "realtime_ws"
    verbose_name = "Live WebSockets"
