"""Commerce API routes, mounted at /api/v1/ by config/urls.py."""

from django.urls import URLPattern, URLResolver, path

from commerce.api import views_buyer as buyer
from commerce.api import views_collection_proofs as collection_proofs
from commerce.api import views_marketplace as marketplace
from commerce.api import views_members as members
from commerce.api import views_merchant as merchant
from commerce.api import views_public as public
from commerce.api import views_shipping as shipping
from commerce.api import views_tokens as tokens
from commerce.waiting_room import api as waiting_room

M = "merchants/<int:merchant_id>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/signup/", public.SignupView.as_view(), name="auth-signup"),
    path("auth/token/", public.TokenView.as_view(), name="auth-token"),
    path("auth/logout/", tokens.LogoutView.as_view(), name="auth-logout"),
    path("tokens/", tokens.TokenListView.as_view(), name="token-list"),
    path("tokens/<str:token_id>/", tokens.TokenDetailView.as_view(), name="token-detail"),
    path("ws-tickets/", tokens.WsTicketView.as_view(), name="ws-tickets"),
    path("products/", public.ProductListView.as_view(), name="product-list"),
    path("products/<int:pk>/", public.ProductDetailView.as_view(), name="product-detail"),
    path("drops/", public.DropListView.as_view(), name="drop-list"),
    path("drops/<int:pk>/", public.DropDetailView.as_view(), name="drop-detail"),
    path("drops/<int:pk>/availability/", public.DropAvailabilityView.as_view(), name="drop-availability"),
    path("drops/<int:pk>/queue/", waiting_room.QueueView.as_view(), name="drop-queue"),
    path("reservations/", buyer.ReservationListCreateView.as_view(), name="reservation-list"),
    path("reservations/<uuid:pk>/", buyer.ReservationDetailView.as_view(), name="reservation-detail"),
    path("reservations/<uuid:pk>/cancel/", buyer.ReservationCancelView.as_view(), name="reservation-cancel"),
    path("checkout/", buyer.CheckoutView.as_view(), name="checkout"),
    path("orders/", buyer.OrderListView.as_view(), name="order-list"),
    path("orders/<int:pk>/", buyer.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<int:pk>/cancel/", buyer.OrderCancelView.as_view(), name="order-cancel"),
    path("me/merchants/", buyer.MyMerchantsView.as_view(), name="my-merchants"),
    path("carriers/", shipping.CarriersView.as_view(), name="carriers"),
    path("seller-applications/", marketplace.SellerApplicationsView.as_view(), name="seller-applications"),
    path("platform/fee-plans/", marketplace.FeePlansView.as_view(), name="platform-fee-plans"),
    path(M, members.MerchantSettingsView.as_view(), name="merchant-settings"),
    path(M + "stripe-account/", marketplace.StripeAccountView.as_view(), name="merchant-stripe-account"),
    path(
        M + "stripe-account/onboarding-link/",
        marketplace.OnboardingLinkView.as_view(),
        name="merchant-stripe-onboarding-link",
    ),
    path(M + "money/", marketplace.MoneyView.as_view(), name="merchant-money"),
    path(M + "money/orders.csv", marketplace.MoneyCsvView.as_view(), name="merchant-money-csv"),
    path(M + "members/", members.MembersView.as_view(), name="merchant-members"),
    path(M + "members/<int:user_id>/", members.MemberDetailView.as_view(), name="merchant-member"),
    path(M + "collections/", merchant.CollectionsView.as_view(), name="merchant-collections"),
    path(
        M + "collections/challenges/",
        collection_proofs.CollectionChallengeView.as_view(),
        name="merchant-collection-challenges",
    ),
    path(M + "products/", merchant.ProductsView.as_view(), name="merchant-products"),
    path(M + "products/<int:pk>/", merchant.ProductDetailView.as_view(), name="merchant-product"),
    path(M + "products/<int:pk>/skus/", merchant.ProductSkusView.as_view(), name="merchant-product-skus"),
    path(M + "drops/", merchant.DropsView.as_view(), name="merchant-drops"),
    path(M + "drops/<int:pk>/", merchant.DropDetailView.as_view(), name="merchant-drop"),
    path(M + "drops/<int:pk>/restock/", merchant.DropRestockView.as_view(), name="merchant-drop-restock"),
    *[
        path(
            M + f"drops/<int:pk>/{action}/",
            merchant.DropActionView.as_view(),
            {"action": action},
            name=f"merchant-drop-{action}",
        )
        for action in merchant.DROP_ACTIONS
    ],
    path(
        M + "drops/<int:pk>/waiting-room/", waiting_room.MerchantRoomView.as_view(), name="merchant-drop-room"
    ),
    path(M + "orders/", merchant.OrdersView.as_view(), name="merchant-orders"),
    path(M + "orders/<int:pk>/", merchant.OrderDetailView.as_view(), name="merchant-order"),
    path(M + "orders/<int:pk>/cancel/", merchant.OrderCancelView.as_view(), name="merchant-order-cancel"),
    path(M + "shipments/", shipping.ShipmentsView.as_view(), name="merchant-shipments"),
    path(M + "shipments/<int:pk>/", shipping.ShipmentDetailView.as_view(), name="merchant-shipment"),
    path(M + "shipments/<int:pk>/ship/", shipping.ShipView.as_view(), name="merchant-shipment-ship"),
    path(M + "shipments/<int:pk>/deliver/", shipping.DeliverView.as_view(), name="merchant-shipment-deliver"),
    path(
        M + "shipments/<int:pk>/cannot-ship/",
        shipping.CannotShipView.as_view(),
        name="merchant-shipment-cannot-ship",
    ),
]
