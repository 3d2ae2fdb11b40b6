"""Amounts in integer minor units shown in e-mails ("USD 30.00", "JPY 1,500", "KWD 1.250")."""

from commerce.money import plain_amount


def format_money(amount: int, currency: str) -> str:
    """Code first, then the amount with the currency's own ISO 4217 decimals (commerce.money)."""
    code = (currency or "").lower()
    return f"{code.upper()} {plain_amount(amount, code)}"
