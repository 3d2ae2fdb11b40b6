"""Payment API routes, mounted at /api/v1/ by config/urls.py."""

from django.urls import URLPattern, URLResolver, path

from commerce.payments.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("orders/<int:pk>/pay/", views.PayOrderView.as_view(), name="order-pay"),
    path("orders/<int:pk>/pay/demo-confirm/", views.DemoConfirmView.as_view(), name="order-pay-demo-confirm"),
    path("orders/<int:pk>/payment/", views.OrderPaymentView.as_view(), name="order-payment"),
    path("saved-card/", views.SavedCardView.as_view(), name="saved-card"),
]
