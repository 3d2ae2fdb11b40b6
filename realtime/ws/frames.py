"""From events to the frames sockets receive (what the projector publishes)."""

from datetime import UTC, datetime
from typing import Any

from realtime.events import Event
from realtime.ws import protocol
from realtime.ws.coalesce import PendingStock
from realtime.ws.snapshots import countdown_target

STOCK_EVENTS = frozenset(
    {
        "inventory.reserved",
        "inventory.released",
        "inventory.sold",
        "inventory.restocked",
        "inventory.sold_out",
    }
)


def stock_frame(entry: PendingStock) -> tuple[str, int, str]:
    """(stream, seq, text) of a coalesced stock update."""
    stream = f"drop.{entry.drop_id}"
    skus = [{"sku_id": sku_id, **counters} for sku_id, counters in sorted(entry.skus.items())]
    body = protocol.frame(
        "stock",
        seq=entry.seq,
        stream=stream,
        drop_id=entry.drop_id,
        skus=skus,
        sold_out=entry.sold_out,
        at=entry.at,  # when the newest change folded in was made (in its transaction)
        published_at=datetime.now(UTC).isoformat(),  # when the projector sent it: fan-out starts
    )
    return stream, entry.seq, protocol.encode(body)


def drop_state_frame(event: Event, seq: int) -> tuple[str, int, str]:
    p = event.payload
    stream = f"drop.{p['drop_id']}"
    body = protocol.frame(
        "drop_state",
        seq=seq,
        stream=stream,
        drop_id=p["drop_id"],
        state=p["to_state"],
        from_state=p["from_state"],
        reason=p.get("reason"),
        starts_at=p.get("starts_at"),
        ends_at=p.get("ends_at"),
        countdown_to=countdown_target(p["to_state"], p.get("starts_at"), p.get("ends_at")),
        at=event.occurred_at.isoformat(),
    )
    return stream, seq, protocol.encode(body)


def order_frame(event: Event, seq: int) -> tuple[str, int, str] | None:
    """order.* -> order_status, payment.* -> payment, nft.mint.* -> mint, shipment.* -> shipment; else None."""
    p = event.payload
    order_id = p.get("order_id")
    if order_id is None:
        return None
    stream = f"order.{order_id}"
    kind, _, rest = event.type.partition(".")
    fields: dict[str, Any]
    if kind == "order":
        name = "order_status"
        fields = {k: p.get(k) for k in ("status", "previous_status", "total", "currency", "reason")}
    elif kind == "payment":
        name = "payment"
        fields = {"event": rest, **{k: v for k, v in p.items() if k not in ("order_id", "stripe_event_id")}}
    elif event.type.startswith("nft.mint."):
        name = "mint"
        fields = {"state": event.type.rsplit(".", 1)[1], **{k: v for k, v in p.items() if k != "order_id"}}
    elif kind == "shipment" and rest != "requested":
        name = "shipment"  # created / shipped / delivered / cancelled, with tracking once shipped
        fields = {"state": rest, **{k: v for k, v in p.items() if k not in ("order_id", "buyer_id")}}
    else:
        return None
    body = protocol.frame(
        name, seq=seq, stream=stream, order_id=order_id, **fields, at=event.occurred_at.isoformat()
    )
    return stream, seq, protocol.encode(body)


def dashboard_template(merchant_id: int, data: dict[str, Any]) -> tuple[str, str]:
    """(stream, text with a '{seq}' placeholder): dashboard numbers come from a Redis counter."""
    stream = f"merchant.{merchant_id}"
    text = protocol.encode(protocol.frame("dashboard", seq=0, stream=stream, **data))
    # The encoder wrote "seq":0 first; swap in the placeholder the append script fills.
    return stream, text.replace('"seq":0,', '"seq":{seq},', 1)
