from django.apps import AppConfig


class AbuseConfig(AppConfig):
    """Bot and abuse defences for drops (label `abuse`, own migrations)."""

    name = "commerce.abuse"
    label = "abuse"
    default_auto_field = "django.db.models.BigAutoField"
