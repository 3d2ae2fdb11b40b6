"""Rates like "30/m" (or several, "10/s,600/m") from settings, parsed once per value."""

import re
from dataclasses import dataclass
from functools import cache

from django.conf import settings

_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int


@cache
def parse(text: str) -> Rate | None:
    """ "30/m" -> Rate(30, 60); "5/10s" -> Rate(5, 10); "" or "0/m" -> None (scope off)."""
    match = _RATE.match(text.strip())
    if not text.strip():
        return None
    if match is None:
        raise ValueError(f"bad rate {text!r}: expected <n>/<s|m|h|d>, e.g. 30/m or 5/10s")
    limit, multiple, unit = int(match[1]), int(match[2] or 1), match[3]
    return Rate(limit, multiple * _UNITS[unit]) if limit > 0 and multiple > 0 else None


@cache
def parse_all(text: str) -> tuple[Rate, ...]:
    """ "10/s,600/m" -> both rates, each counted on its own (a burst bound beside a sustained one)."""
    return tuple(rate for part in text.split(",") if (rate := parse(part)) is not None)


def rates_for(scope: str) -> tuple[Rate, ...]:
    """The configured rates of a scope (`reserve.user`, `signup.ip`, ...), () when it is off."""
    return parse_all(settings.ABUSE_THROTTLE_RATES.get(scope, ""))
