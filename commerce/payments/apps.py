from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "commerce.payments"
    label = "payments"
    verbose_name = "Payments and checkout saga"
    default_auto_field = "django.db.models.BigAutoField"
