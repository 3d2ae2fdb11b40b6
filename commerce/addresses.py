"""Shipping addresses: one validated shape, stored as a snapshot wherever something ships.

Checkout (an order with a physical part) and phygital redemption both ask for it. The stored form
is the plain dict of `ShippingAddress.as_dict()`; a later change to the buyer's address book never
changes what an order or a redemption already recorded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pycountry
from rest_framework import serializers

# Generous but bounded: long enough for real addresses, short enough for labels and carriers' APIs.
MAX_NAME = 100
MAX_LINE = 100
MAX_CITY = 80
MAX_REGION = 80
MAX_POSTAL_CODE = 16
MAX_PHONE = 32

COUNTRY_CODES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries)


def _no_control_chars(value: str) -> None:
    # Addresses end up in e-mail headers' neighbourhood and on printed labels: no CR/LF/TAB tricks.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise serializers.ValidationError("Control characters are not allowed.")


class ShippingAddressInput(serializers.Serializer):
    """Strict input shape of a shipping address (unknown fields are refused by the caller's view)."""

    name = serializers.CharField(max_length=MAX_NAME, validators=[_no_control_chars])
    line1 = serializers.CharField(max_length=MAX_LINE, validators=[_no_control_chars])
    line2 = serializers.CharField(
        max_length=MAX_LINE, required=False, default="", allow_blank=True, validators=[_no_control_chars]
    )
    city = serializers.CharField(max_length=MAX_CITY, validators=[_no_control_chars])
    region = serializers.CharField(
        max_length=MAX_REGION, required=False, default="", allow_blank=True, validators=[_no_control_chars]
    )
    postal_code = serializers.CharField(max_length=MAX_POSTAL_CODE, validators=[_no_control_chars])
    country = serializers.CharField(min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2, e.g. DE")
    phone = serializers.RegexField(
        r"^\+?[0-9 ()./-]{4,32}\Z", max_length=MAX_PHONE, required=False, default="", allow_blank=True
    )

    def validate_country(self, value: str) -> str:
        code = value.upper()
        if code not in COUNTRY_CODES:
            raise serializers.ValidationError(f"Unknown country code {value!r} (ISO 3166-1 alpha-2).")
        return code


@dataclass(frozen=True)
class ShippingAddress:
    """A validated address; `as_dict()` is what gets stored."""

    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    region: str = ""
    phone: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The address as printed on a label, one line each, empty parts left out."""
        city_line = " ".join(p for p in (self.postal_code, self.city) if p)
        parts = [self.name, self.line1, self.line2, city_line, self.region, self.country]
        return [p for p in parts if p]


def parse_shipping_address(data: Any) -> ShippingAddress:
    """Validate untrusted input; raises rest_framework's ValidationError with per-field messages."""
    if not isinstance(data, dict):
        raise serializers.ValidationError({"shipping_address": ["Expected an object."]})
    unknown = sorted(set(data) - set(ShippingAddressInput().fields))
    if unknown:
        raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
    ser = ShippingAddressInput(data=data)
    ser.is_valid(raise_exception=True)
    return ShippingAddress(**ser.validated_data)


def address_from_snapshot(snapshot: dict[str, Any]) -> ShippingAddress:
    """Rebuild a stored address (trusted: it was validated when stored)."""
    fields = ShippingAddress.__dataclass_fields__
    return ShippingAddress(**{k: str(v) for k, v in snapshot.items() if k in fields})
