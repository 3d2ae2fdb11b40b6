"""Webhook URLs (included under `/webhooks/` by config/urls.py)."""

from django.urls import path

from commerce.payments import views

urlpatterns = [path("stripe/", views.stripe_webhook, name="stripe-webhook")]
