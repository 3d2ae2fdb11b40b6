"""Raising a flag on a buyer when a velocity rule trips (at most one write per buyer, rule and minute)."""

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from commerce.abuse import limiter
from commerce.abuse.models import BuyerFlag
from commerce.models import Drop


def flag_buyer(
    *, buyer_id: int, rule: str, reason: str, drop_id: int | None = None, detail: dict[str, Any] | None = None
) -> bool:
    """Record that `rule` tripped for the buyer (in `drop_id`, or anywhere). False when recently recorded.

    Called on hot paths (a throttled request, a burst of reserves): the Redis guard keeps a script
    hammering the API from turning into one database write per request.
    """
    if not limiter.first_time(f"flag:{buyer_id}:{drop_id}:{rule}", seconds=60):
        return False
    if drop_id is not None and not Drop.objects.filter(pk=drop_id).exists():
        drop_id = None  # a made-up drop id in a request: flag the buyer anyway
    fields = {"reason": reason[:300], "detail": detail or {}, "last_seen_at": timezone.now()}
    scope = {"buyer_id": buyer_id, "drop_id": drop_id, "rule": rule}
    with transaction.atomic():
        if BuyerFlag.objects.filter(**scope).update(hits=F("hits") + 1, **fields):
            return True
        try:
            with transaction.atomic():
                BuyerFlag.objects.create(**scope, **fields)
        except IntegrityError:  # another process created it first
            BuyerFlag.objects.filter(**scope).update(hits=F("hits") + 1, **fields)
    return True
