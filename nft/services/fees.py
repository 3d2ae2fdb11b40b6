"""EIP-1559 fee suggestions with caps, and the bump a replacement needs."""

from dataclasses import dataclass

from django.conf import settings

from nft.chain import cached_base_fee
from nft.errors import FeeCapExceeded


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


def suggest_fees() -> Fees:
    """Fees for a new transaction: tip from settings, max fee = 2 x next base fee + tip, capped.

    Raises FeeCapExceeded (retriable) when even base fee + tip is above the cap: sending would
    only park the transaction in the pool, so we wait instead.
    """
    base = cached_base_fee()
    tip = min(settings.NFT_PRIORITY_FEE_WEI, settings.NFT_MAX_PRIORITY_FEE_WEI)
    cap = settings.NFT_MAX_FEE_PER_GAS_WEI
    if base + tip > cap:
        raise FeeCapExceeded(
            "network fees are above the configured cap", details={"base_fee": base, "cap": cap}
        )
    return Fees(max_fee_per_gas=min(2 * base + tip, cap), max_priority_fee_per_gas=tip)


def _bumped(value: int) -> int:
    permille = max(settings.NFT_FEE_BUMP_PERMILLE, 100)  # nodes require at least +10 %
    return -(-value * (1000 + permille) // 1000)  # ceiling division


def replacement_fees(*, old: Fees, suggested: Fees) -> Fees:
    """Fees for a same-nonce replacement: both >= old x (1 + bump), and at least today's suggestion."""
    tip = max(_bumped(old.max_priority_fee_per_gas), suggested.max_priority_fee_per_gas)
    max_fee = max(_bumped(old.max_fee_per_gas), suggested.max_fee_per_gas, tip)
    if max_fee > settings.NFT_MAX_FEE_PER_GAS_WEI or tip > settings.NFT_MAX_PRIORITY_FEE_WEI:
        raise FeeCapExceeded(
            "a replacement would exceed the fee cap",
            details={"max_fee_per_gas": max_fee, "max_priority_fee_per_gas": tip},
        )
    return Fees(max_fee_per_gas=max_fee, max_priority_fee_per_gas=tip)
