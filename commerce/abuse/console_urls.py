"""The merchant console's block / unblock form posts (HTML), mounted at the site root by config/urls.py."""

from django.urls import URLPattern, path

from commerce.abuse import console

urlpatterns: list[URLPattern] = [
    path(
        "console/<int:merchant_id>/drops/<int:pk>/buyers/<int:buyer_id>/<slug:action>/",
        console.block_action,
        name="abuse-console-block",
    ),
]
