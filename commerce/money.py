"""Money in integer minor units, by each currency's ISO 4217 exponent (JPY 0, USD 2, KWD 3).

Every amount in mintdrop (prices, totals, fees, refunds, Stripe amounts) is an integer count of the
currency's minor unit, which is also what Stripe expects. Only display divides, and it divides by
10 ** exponent(currency), never by a hard-coded 100. This module is the one place that knows the
exponents (Python side); the page JavaScript asks the browser's Intl for the same ISO digits and
falls back to `EXPONENTS` handed to it by the base template.
"""

from decimal import Decimal

# ISO 4217 currencies whose minor unit is not 2 decimals (the table's "E" column); the rest are 2.
# 0: no minor unit. 3: thousandths (the Gulf dinars and rials, Libya, Tunisia). 4: funds units.
_EXPONENT_OVERRIDES: dict[str, int] = {
    **{
        code: 0
        for code in (
            "bif",
            "clp",
            "djf",
            "gnf",
            "isk",
            "jpy",
            "kmf",
            "krw",
            "pyg",
            "rwf",
            "ugx",
            "uyi",
            "vnd",
            "vuv",
            "xaf",
            "xof",
            "xpf",
        )
    },
    **{code: 3 for code in ("bhd", "iqd", "jod", "kwd", "lyd", "omr", "tnd")},
    **{code: 4 for code in ("clf", "uyw")},
}
DEFAULT_EXPONENT = 2
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


def exponent(currency: str) -> int:
    """Decimal places of `currency`'s minor unit (ISO 4217): 'jpy' -> 0, 'usd' -> 2, 'kwd' -> 3."""
    return _EXPONENT_OVERRIDES.get((currency or "").lower(), DEFAULT_EXPONENT)


def exponents_table() -> dict[str, int]:
    """The non-default exponents, for page JavaScript (which assumes 2 for the rest)."""
    return dict(_EXPONENT_OVERRIDES)


def to_major(amount: int, currency: str) -> Decimal:
    """Minor units -> an exact decimal in major units: (1999, 'usd') -> 19.99, (1999, 'jpy') -> 1999."""
    return Decimal(int(amount)).scaleb(-exponent(currency))


def to_minor(value: Decimal | str | int, currency: str) -> int:
    """Major units -> integer minor units; refuses more decimals than the currency has (ValueError)."""
    number = Decimal(str(value))
    scaled = number.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency.upper()} has {exponent(currency)} decimal places")
    return int(scaled)


def plain_amount(amount: int, currency: str) -> str:
    """'1,234.567' for (1234567, 'kwd'): grouped, with exactly the currency's decimals."""
    places = exponent(currency)
    return f"{to_major(amount, currency):,.{places}f}"


def format_money(amount: int, currency: str) -> str:
    """'$19.99', '¥1,999', '1.500 KWD': symbol when we have one, else the code after the number."""
    code = (currency or "usd").lower()
    sign = "-" if int(amount) < 0 else ""
    text = plain_amount(abs(int(amount)), code)
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {code.upper()}"
