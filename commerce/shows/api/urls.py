"""Show API routes, mounted at /api/v1/ by config/urls.py."""

from django.urls import URLPattern, URLResolver, path

from commerce.shows.api import views

H = "merchants/<int:merchant_id>/shows/"
ACTIONS = ("live", "end", "pin", "unpin", "flash-drops", "mute", "unmute")

urlpatterns: list[URLPattern | URLResolver] = [
    path("shows/", views.ShowListView.as_view(), name="show-list"),
    path("shows/<int:pk>/", views.ShowDetailView.as_view(), name="show-detail"),
    path("shows/<int:pk>/venue/", views.VenueFeedView.as_view(), name="show-venue"),
    path("shows/<int:pk>/messages/", views.MessagesView.as_view(), name="show-messages"),
    path("shows/<int:pk>/checkout/", views.ShowCheckoutView.as_view(), name="show-checkout"),
    path(H, views.HostShowsView.as_view(), name="host-shows"),
    *[
        path(
            H + f"<int:pk>/{action}/",
            views.HostActionView.as_view(),
            {"action": action},
            name=f"host-show-{action}",
        )
        for action in ACTIONS
    ],
    path(
        H + "<int:pk>/messages/<int:message_id>/delete/",
        views.HostActionView.as_view(),
        {"action": "delete-message"},
        name="host-show-delete-message",
    ),
]
