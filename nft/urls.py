from django.urls import URLPattern, URLResolver, path

from nft import views

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "nft/metadata/<int:chain_id>/<str:contract>/<str:token_id>", views.token_metadata, name="nft-metadata"
    ),
    path("verify/<int:chain_id>/<str:contract>/<str:token_id>", views.verify, name="nft-verify"),
    path("redeem/<int:chain_id>/<str:contract>/<str:token_id>", views.redeem, name="nft-redeem"),
]
