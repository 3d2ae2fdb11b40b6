"""Column types for chain values."""

from typing import Any

from django.db import models


def uint256_field(**kwargs: Any) -> models.DecimalField:
    """A uint256 (token ids, wei amounts): NUMERIC(78, 0) holds every value exactly."""
    return models.DecimalField(max_digits=78, decimal_places=0, **kwargs)


def address_field(**kwargs: Any) -> models.CharField:
    """An EIP-55 checksummed 0x address."""
    return models.CharField(max_length=42, **kwargs)


def hash_field(**kwargs: Any) -> models.CharField:
    """A 0x-prefixed 32-byte hash in lower-case hex."""
    return models.CharField(max_length=66, **kwargs)
