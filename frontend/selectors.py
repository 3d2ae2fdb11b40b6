"""Read queries the pages need beyond what commerce/nft selectors give. Nothing here writes."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Sum
from django.db.models.functions import TruncMinute
from django.utils import timezone

from commerce.models import DropBuyer, DropState, OrderLine, OrderStatus, Product

PAID_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.FULFILLING,
    OrderStatus.FULFILLED,
    OrderStatus.PARTIALLY_REFUNDED,
)
LIVE_STATES = (DropState.LIVE, DropState.PAUSED, DropState.SOLD_OUT)


def sales_per_minute(*, drop_id: int, minutes: int = 15, now: datetime | None = None) -> list[dict[str, Any]]:
    """Units and revenue of paid orders of a drop per minute, oldest first, zero-filled (chart seed)."""
    now = now or timezone.now()
    start = (now - timedelta(minutes=minutes - 1)).replace(second=0, microsecond=0)
    rows = (
        OrderLine.objects.filter(
            order__drop_id=drop_id, order__status__in=PAID_STATUSES, order__paid_at__gte=start
        )
        .annotate(minute=TruncMinute("order__paid_at"))
        .values("minute")
        .annotate(units=Sum("quantity"), revenue=Sum(F("quantity") * F("unit_price")))
    )
    by_minute = {r["minute"]: r for r in rows}
    series = []
    for i in range(minutes):
        minute = start + timedelta(minutes=i)
        row: dict[str, Any] = dict(by_minute.get(minute) or {})
        series.append(
            {"t": int(minute.timestamp()), "units": row.get("units") or 0, "revenue": row.get("revenue") or 0}
        )
    return series


def units_held(*, drop_id: int, buyer_id: int | None) -> int:
    """Units the buyer already holds in the drop (reserved + bought), for the per-buyer limit."""
    if buyer_id is None:
        return 0
    row = DropBuyer.objects.filter(drop_id=drop_id, buyer_id=buyer_id).values_list("units", flat=True).first()
    return int(row or 0)


def media_of(product: Product) -> dict[str, str]:
    """Image and 3D model URLs of a product (metadata template first, then its media list)."""
    meta = product.metadata_template or {}
    urls = [u for u in (product.media_urls or []) if isinstance(u, str)]
    image = meta.get("image") or next((u for u in urls if not u.lower().endswith((".glb", ".gltf"))), "")
    model = meta.get("animation_url") or next((u for u in urls if u.lower().endswith((".glb", ".gltf"))), "")
    return {"image": str(image or ""), "model": str(model or "")}


def tx_explorer_url(tx_hash: str) -> str:
    """Our own explorer API for a transaction (no third-party explorer for a local chain)."""
    return f"/api/v1/nft/transactions/{tx_hash}"


def chain_label() -> str:
    return "local anvil" if settings.CHAIN_ID == 31337 else f"chain {settings.CHAIN_ID}"
