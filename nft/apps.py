from django.apps import AppConfig


class NftConfig(AppConfig):
    name = "nft"
    verbose_name = "NFT"
    default_auto_field = "django.db.models.BigAutoField"
