"""Merchants, catalog, drops, live shows, reservations, orders, Stripe payments, the checkout saga."""
