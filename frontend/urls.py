"""Storefront and merchant console URLs, included at the site root by config/urls.py."""

from django.urls import URLPattern, URLResolver, path

from frontend.views import (
    account,
    console,
    console_orders,
    console_shows,
    console_team,
    marketplace,
    orders,
    saved_card,
    shipping,
    shop,
)

app_name = "frontend"

C = "console/<int:merchant_id>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", shop.home, name="home"),
    path("products/<int:pk>/", shop.product_detail, name="product"),
    path("drops/<int:pk>/", shop.drop_detail, name="drop"),
    path("drops/<int:pk>/widget/", shop.drop_widget, name="drop-widget"),
    path("cart/", shop.cart, name="cart"),
    path("cart/<str:reservation_id>/release/", shop.cart_release, name="cart-release"),
    path("checkout/", shop.checkout, name="checkout"),
    path("orders/<int:pk>/pay/", shop.pay, name="pay"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/<int:pk>/", orders.order_detail, name="order"),
    path("nfts/", orders.nft_list, name="nfts"),
    path("nfts/claim/", orders.nft_claim, name="nft-claim"),
    path("wallet/", orders.wallet, name="wallet"),
    path("account/card/", saved_card.saved_card, name="saved-card"),
    path("login/", account.login_view, name="login"),
    path("signup/", account.signup_view, name="signup"),
    path("logout/", account.logout_view, name="logout"),
    path("sell/", marketplace.sell, name="sell"),
    path("console/", console.console_home, name="console-home"),
    path(C, console.console, name="console"),
    path(C + "products/new/", console.product_form, name="console-product-new"),
    path(C + "products/<int:pk>/", console.product_form, name="console-product"),
    path(C + "drops/new/", console.drop_form, name="console-drop-new"),
    path(C + "drops/<int:pk>/", console.drop_form, name="console-drop"),
    path(C + "drops/<int:pk>/live/", console.live_room, name="console-room"),
    path(C + "shipments/", shipping.shipment_queue, name="console-shipments"),
    path(C + "shipments/<int:pk>/<slug:action>/", shipping.shipment_action, name="console-shipment-action"),
    path(C + "team/", console_team.team, name="console-team"),
    path(C + "money/", marketplace.money, name="console-money"),
    path(C + "money/orders.csv", marketplace.money_csv, name="console-money-csv"),
    path(C + "orders/", console_orders.order_list, name="console-orders"),
    path(C + "orders/<int:pk>/", console_orders.order_detail, name="console-order"),
    # console/<m>/shows/<pk>/ itself is the host console (frontend/shows/urls.py).
    path(C + "shows/", console_shows.show_list, name="console-shows"),
    path(C + "shows/new/", console_shows.show_form, name="console-show-new"),
    path(C + "shows/<int:pk>/edit/", console_shows.show_form, name="console-show"),
    path(C + "shows/<int:pk>/cancel/", console_shows.show_cancel, name="console-show-cancel"),
]
