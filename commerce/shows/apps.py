from django.apps import AppConfig


class ShowsConfig(AppConfig):
    """Live shows: a merchant's video stream with pinned products, flash drops and chat."""

    name = "commerce.shows"
    label = "shows"
    default_auto_field = "django.db.models.BigAutoField"
