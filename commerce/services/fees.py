"""The platform's fee on a Connect merchant's sales: fee plans (percent + fixed per currency)."""

import re
from typing import Any

from django.conf import settings
from django.db import transaction

from commerce.errors import InvalidFeePlan, NotFound
from commerce.models import FeePlan, Merchant
from realtime.outbox import emit

_ISO = re.compile(r"^[a-z]{3}$")
MAX_FIXED_FEE = 10**12


def check_fee_plan(*, percent_bps: Any, fixed_fees: Any) -> dict[str, int]:
    """Validate a plan without writing: 0..10000 bps (a fee above 100 % is refused), fixed fees >= 0
    in minor units keyed by ISO 4217 codes. Returns the fixed fees normalised (lower-case codes)."""
    if isinstance(percent_bps, bool) or not isinstance(percent_bps, int) or not 0 <= percent_bps <= 10_000:
        raise InvalidFeePlan(
            "The percentage must be between 0 and 100 % (0..10000 basis points).",
            details={"field": "percent_bps", "value": percent_bps},
        )
    if not isinstance(fixed_fees, dict):
        raise InvalidFeePlan(
            "fixed_fees must map currency codes to amounts.", details={"field": "fixed_fees"}
        )
    normalised: dict[str, int] = {}
    for code, amount in fixed_fees.items():
        key = str(code).lower()
        if not _ISO.match(key):
            raise InvalidFeePlan(
                "Not an ISO 4217 currency code.", details={"field": "fixed_fees", "code": code}
            )
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_FIXED_FEE:
            raise InvalidFeePlan(
                "A fixed fee is a whole, non-negative number of minor units.",
                details={"field": "fixed_fees", "code": key, "value": amount},
            )
        normalised[key] = amount
    return normalised


def save_fee_plan(*, name: str, percent_bps: int, fixed_fees: dict[str, int]) -> FeePlan:
    """Create or change the plan called `name` (checked first; nothing is written if it is invalid)."""
    fixed = check_fee_plan(percent_bps=percent_bps, fixed_fees=fixed_fees)
    if not name or len(name) > 100:
        raise InvalidFeePlan("A plan needs a name of at most 100 characters.", details={"field": "name"})
    with transaction.atomic():
        plan, _ = FeePlan.objects.update_or_create(
            name=name, defaults={"percent_bps": percent_bps, "fixed_fees": fixed}
        )
    return plan


def assign_fee_plan(*, merchant_id: int, plan_id: int | None) -> Merchant:
    """Put a merchant on a plan (None: the default MARKETPLACE_DEFAULT_FEE_BPS); emits merchant.fee_plan_changed."""
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().filter(pk=merchant_id).first()
        if merchant is None:
            raise NotFound("Merchant not found.", details={"resource": "merchant", "id": merchant_id})
        plan = None
        if plan_id is not None:
            plan = FeePlan.objects.filter(pk=plan_id).first()
            if plan is None:
                raise NotFound("Fee plan not found.", details={"resource": "fee_plan", "id": plan_id})
        merchant.fee_plan = plan
        merchant.save(update_fields=["fee_plan", "updated_at"])
        emit(
            type="merchant.fee_plan_changed",
            key=merchant.pk,
            payload={
                "merchant_id": merchant.pk,
                "plan_id": plan.pk if plan else None,
                "percent_bps": plan.percent_bps if plan else settings.MARKETPLACE_DEFAULT_FEE_BPS,
                "fixed_fees": plan.fixed_fees if plan else {},
            },
        )
    return merchant


def application_fee(*, merchant: Merchant, amount: int, currency: str) -> int:
    """The platform's fee on a charge of `amount` minor units: percent (rounded half up) + fixed, capped."""
    plan = merchant.fee_plan
    bps = plan.percent_bps if plan else settings.MARKETPLACE_DEFAULT_FEE_BPS
    fixed = int((plan.fixed_fees if plan else {}).get(currency.lower(), 0))
    percent_part = (amount * bps + 5_000) // 10_000
    return min(amount, percent_part + fixed)
