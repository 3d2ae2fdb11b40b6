"""Perf-area tests reuse the commerce fixtures (users, shop, drops, token clients)."""

from tests.commerce.conftest import client_for, make_drop, make_user, shop  # noqa: F401
