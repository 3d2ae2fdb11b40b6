"""Top-level URL map: API, webhooks, health, admin, storefront."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health
from monitoring.views import metrics_view

handler404 = "config.api_errors.handler404"
handler500 = "config.api_errors.handler500"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("commerce.api.urls")),
    path("api/v1/", include("commerce.payments.api.urls")),
    path("webhooks/", include("commerce.payments.urls")),
    path("api/v1/", include("nft.api.urls")),
    path("api/v1/", include("commerce.shows.api.urls")),
    path("api/v1/", include("commerce.auctions.api.urls")),
    path("api/v1/", include("commerce.abuse.urls")),
    path("", include("nft.urls")),
    path("", include("commerce.urls")),
    path("", include("frontend.shows.urls")),
    path("", include("notifications.urls")),
    path("", include("commerce.abuse.console_urls")),
    path("", include("frontend.urls")),
]
