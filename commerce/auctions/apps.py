from django.apps import AppConfig


class AuctionsConfig(AppConfig):
    """Live auctions and giveaways run from a show (label `auctions`)."""

    name = "commerce.auctions"
    label = "auctions"
    default_auto_field = "django.db.models.BigAutoField"
