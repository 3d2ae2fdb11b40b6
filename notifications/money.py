"""Amounts in integer minor units shown to people ("USD 30.00")."""

# ISO 4217 currencies without a minor unit (Stripe's list of zero-decimal currencies that we may see).
_ZERO_DECIMAL = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)


def format_money(amount: int, currency: str) -> str:
    code = (currency or "").lower()
    if code in _ZERO_DECIMAL:
        return f"{code.upper()} {amount:,}"
    return f"{code.upper()} {amount // 100:,}.{amount % 100:02d}"
