"""WebSocket routes served by the ASGI app under /ws/."""

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
