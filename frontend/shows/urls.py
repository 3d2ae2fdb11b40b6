"""Live-show page URLs, included at the site root by config/urls.py (before frontend.urls)."""

from django.urls import URLPattern, URLResolver, path

from frontend.shows import views

app_name = "shows"

urlpatterns: list[URLPattern | URLResolver] = [
    path("shows/", views.show_list, name="list"),
    path("shows/<int:pk>/", views.watch, name="watch"),
    path("shows/<int:pk>/venue/", views.venue, name="venue"),
    path("console/<int:merchant_id>/shows/<int:pk>/", views.host, name="host"),
    path("media/shows/<path:path>", views.media, name="media"),
]
