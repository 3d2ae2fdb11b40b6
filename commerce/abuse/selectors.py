"""Reads for the merchant's live room: flagged and blocked buyers of a drop."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from commerce.abuse.models import BuyerBlock, BuyerFlag
from commerce.models import Drop, Reservation


@dataclass
class FlaggedBuyer:
    buyer_id: int
    username: str
    flags: list[dict[str, Any]] = field(default_factory=list)
    blocked: str = ""  # "", "drop" or "shop"
    last_seen_at: datetime | None = None


def flagged_buyers(*, drop: Drop, limit: int = 200) -> list[FlaggedBuyer]:
    """Buyers flagged in this drop, flagged anywhere and taking part in it, or blocked for it; newest first."""
    in_drop = Reservation.objects.filter(drop_id=drop.pk).values("buyer_id")
    flags = list(
        BuyerFlag.objects.filter(Q(drop_id=drop.pk) | Q(drop__isnull=True, buyer_id__in=in_drop)).order_by(
            "-last_seen_at"
        )[: limit * 5]
    )
    blocks = BuyerBlock.objects.filter(merchant_id=drop.merchant_id).filter(
        Q(drop_id=drop.pk) | Q(drop__isnull=True)
    )
    blocked = {b.buyer_id: ("drop" if b.drop_id else "shop") for b in blocks[:limit]}
    rows: dict[int, FlaggedBuyer] = {}
    for flag in flags:
        row = rows.setdefault(flag.buyer_id, FlaggedBuyer(flag.buyer_id, "", last_seen_at=flag.last_seen_at))
        row.flags.append(
            {"rule": flag.rule, "reason": flag.reason, "hits": flag.hits, "last_seen_at": flag.last_seen_at}
        )
    for buyer_id in blocked:
        rows.setdefault(buyer_id, FlaggedBuyer(buyer_id, ""))
    names = dict(get_user_model().objects.filter(pk__in=list(rows)).values_list("pk", "username"))
    for row in rows.values():
        row.username = names.get(row.buyer_id, "")
        row.blocked = blocked.get(row.buyer_id, "")
    return list(rows.values())[:limit]  # newest flag first (insertion order), blocked-only rows last
