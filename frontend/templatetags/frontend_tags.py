"""Template filters of the storefront: money in minor units, short hashes, state labels."""

from datetime import UTC, datetime
from typing import Any

from django import template

from commerce.money import format_money

register = template.Library()

STATE_LABELS = {
    "scheduled": "Upcoming",
    "live": "Live",
    "paused": "Paused",
    "sold_out": "Sold out",
    "ended": "Ended",
    "pending_payment": "Awaiting payment",
    "paid": "Paid",
    "fulfilling": "Minting / shipping",
    "fulfilled": "Fulfilled",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "partially_refunded": "Partly refunded",
}


@register.filter
def money(amount: Any, currency: str = "usd") -> str:
    """1999, "usd" -> "$19.99"; 1999, "jpy" -> "¥1,999"; 1500, "kwd" -> "1.500 KWD" (minor units, ISO 4217)."""
    try:
        value = int(amount)
    except (TypeError, ValueError):
        return ""
    return format_money(value, currency or "usd")


@register.filter
def from_epoch(value: Any) -> datetime | str:
    """A Unix timestamp from Stripe (`arrival_date`, `created`) as an aware datetime for `|date`."""
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


@register.filter
def short_hash(value: Any) -> str:
    text = str(value or "")
    return f"{text[:10]}…{text[-6:]}" if len(text) > 20 else text


@register.filter
def state_label(value: Any) -> str:
    return STATE_LABELS.get(str(value), str(value).replace("_", " ").capitalize())


@register.filter
def picture(product: Any) -> str:
    """The product's picture URL ("" when it has none), as the product page shows it."""
    from frontend.selectors import media_of

    return media_of(product)["image"]
