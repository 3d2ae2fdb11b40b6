"""Template context every storefront and console page gets."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from commerce.money import exponents_table
from frontend.messages import ERROR_MESSAGES


def site(request: HttpRequest) -> dict[str, Any]:
    """WebSocket URL, the merchants the user works for, the friendly error texts and currency exponents for page JS."""
    merchant_ids: list[int] = []
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        merchant_ids = list(user.memberships.values_list("merchant_id", flat=True))
    return {
        "ws_public_url": settings.WS_PUBLIC_URL.rstrip("/"),
        "console_merchant_ids": merchant_ids,
        "error_messages": ERROR_MESSAGES,
        "currency_exponents": exponents_table(),
        "demo_payments": settings.PAYMENTS_DEMO_CONFIRM,
    }
