"""The web storefront, live-show pages and the merchant console (server-rendered)."""
