"""Live-room abuse endpoints, mounted at /api/v1/ by config/urls.py."""

from django.urls import URLPattern, path

from commerce.abuse import api

D = "merchants/<int:merchant_id>/drops/<int:pk>/"

urlpatterns: list[URLPattern] = [
    path(D + "flagged-buyers/", api.FlaggedBuyersView.as_view(), name="merchant-drop-flagged"),
    path(D + "buyers/<int:buyer_id>/block/", api.BlockBuyerView.as_view(), name="merchant-drop-block"),
    path(D + "buyers/<int:buyer_id>/unblock/", api.UnblockBuyerView.as_view(), name="merchant-drop-unblock"),
]
