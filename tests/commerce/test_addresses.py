"""Shipping address validation: per-field errors, ISO countries, no control characters."""

import pytest
from rest_framework.exceptions import ValidationError

from commerce.addresses import address_from_snapshot, parse_shipping_address

GOOD = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "gb",
}


def test_valid_address_is_normalised_and_round_trips() -> None:
    addr = parse_shipping_address(GOOD)
    assert addr.country == "GB"
    assert addr.line2 == "" and addr.phone == ""
    assert address_from_snapshot(addr.as_dict()) == addr
    assert addr.lines()[0] == "Ada Lovelace"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"name": ""}, "name"),
        ({"line1": "x" * 101}, "line1"),
        ({"country": "XX"}, "country"),
        ({"country": "GBR"}, "country"),
        ({"name": "Eve\r\nBcc: all@example.com"}, "name"),
        ({"phone": "call me"}, "phone"),
        ({"postal_code": None}, "postal_code"),
        ({"nickname": "x"}, "nickname"),
    ],
)
def test_bad_fields_are_named(patch: dict, field: str) -> None:
    data = {**GOOD, **patch}
    with pytest.raises(ValidationError) as exc:
        parse_shipping_address(data)
    assert field in exc.value.detail


def test_missing_field_and_wrong_type() -> None:
    data = dict(GOOD)
    del data["city"]
    with pytest.raises(ValidationError) as exc:
        parse_shipping_address(data)
    assert "city" in exc.value.detail
    with pytest.raises(ValidationError):
        parse_shipping_address(["not", "an", "object"])
