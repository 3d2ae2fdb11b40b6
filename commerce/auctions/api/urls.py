"""Auction API routes, mounted at /api/v1/ by config/urls.py."""

from django.urls import URLPattern, URLResolver, path

from commerce.auctions.api import views

M = "merchants/<int:merchant_id>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path("auctions/<int:pk>/", views.AuctionDetailView.as_view(), name="auction-detail"),
    path("auctions/<int:pk>/bids/", views.BidView.as_view(), name="auction-bids"),
    path("shows/<int:pk>/auction/", views.ShowAuctionView.as_view(), name="show-auction"),
    path("giveaways/<int:pk>/", views.GiveawayView.as_view(), name="giveaway-detail"),
    path(M + "shows/<int:pk>/auctions/", views.HostShowAuctionsView.as_view(), name="host-show-auctions"),
    path(M + "auctions/<int:pk>/", views.HostAuctionView.as_view(), name="host-auction"),
    path(M + "auctions/<int:pk>/open/", views.HostOpenAuctionView.as_view(), name="host-auction-open"),
    path(M + "shows/<int:pk>/giveaways/", views.HostGiveawaysView.as_view(), name="host-show-giveaways"),
    path(M + "giveaways/<int:pk>/draw/", views.HostDrawView.as_view(), name="host-giveaway-draw"),
]
