from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Events and realtime"
    default_auto_field = "django.db.models.BigAutoField"
