"""WebSocket routes served by the ASGI app under /ws/ (see realtime/ws/)."""

from django.urls import URLPattern, URLResolver, path

from notifications.ws import NotificationConsumer
from realtime.shows.consumer import ShowConsumer, VenueConsumer
from realtime.ws.auth import TokenAuthMiddleware
from realtime.ws.consumers import DropConsumer, MerchantDashboardConsumer, OrderConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/drops/<int:drop_id>/", TokenAuthMiddleware(DropConsumer.as_asgi())),
    path("ws/orders/<int:order_id>/", TokenAuthMiddleware(OrderConsumer.as_asgi())),
    path(
        "ws/merchants/<int:merchant_id>/dashboard/", TokenAuthMiddleware(MerchantDashboardConsumer.as_asgi())
    ),
    path("ws/shows/<int:show_id>/", TokenAuthMiddleware(ShowConsumer.as_asgi())),
    path("ws/shows/<int:show_id>/venue/", TokenAuthMiddleware(VenueConsumer.as_asgi())),
    path("ws/notifications/", TokenAuthMiddleware(NotificationConsumer.as_asgi())),
]
