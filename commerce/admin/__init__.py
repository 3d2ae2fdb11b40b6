"""Django admin for every commerce model; drop and order actions go through the services."""

from commerce.admin import catalog, drops, onboarding, orders, shipments  # noqa: F401 (registers the ModelAdmins)
