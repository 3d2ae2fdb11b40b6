"""From events to the frames sockets receive (what the projector publishes)."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from realtime.events import Event
from realtime.ws import protocol
from realtime.ws.coalesce import PendingStock
from realtime.ws.protocol import StreamFrame
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


def stock_frame(entry: PendingStock) -> StreamFrame:
    """A coalesced stock update of one drop."""
    skus = [{"sku_id": sku_id, **counters} for sku_id, counters in sorted(entry.skus.items())]
    return protocol.stream_frame(
        "stock",
        seq=entry.seq,
        stream=f"drop.{entry.drop_id}",
        drop_id=entry.drop_id,
        skus=skus,
        sold_out=entry.sold_out,
        at=entry.at,  # when the newest change folded in was made (in its transaction)
        published_at=datetime.now(UTC).isoformat(),  # when the projector sent it: fan-out starts
    )


def drop_state_frame(event: Event, seq: int) -> StreamFrame:
    p = event.payload
    return protocol.stream_frame(
        "drop_state",
        seq=seq,
        stream=f"drop.{p['drop_id']}",
        drop_id=p["drop_id"],
        state=p["to_state"],
        from_state=p["from_state"],
        reason=p.get("reason"),
        starts_at=p.get("starts_at"),
        ends_at=p.get("ends_at"),
        countdown_to=countdown_target(p["to_state"], p.get("starts_at"), p.get("ends_at")),
        at=event.occurred_at.isoformat(),
    )


def _order_status_fields(event: Event) -> dict[str, Any]:
    return {k: event.payload.get(k) for k in ("status", "previous_status", "total", "currency", "reason")}


def _payment_fields(event: Event) -> dict[str, Any]:
    rest = event.type.partition(".")[2]
    return {
        "event": rest,
        **{k: v for k, v in event.payload.items() if k not in ("order_id", "stripe_event_id")},
    }


def _mint_fields(event: Event) -> dict[str, Any]:
    state = event.type.rsplit(".", 1)[1]
    return {"state": state, **{k: v for k, v in event.payload.items() if k != "order_id"}}


def _shipment_fields(event: Event) -> dict[str, Any]:
    state = event.type.rsplit(".", 1)[1]  # created / shipped / delivered / cancelled
    return {"state": state, **{k: v for k, v in event.payload.items() if k not in ("order_id", "buyer_id")}}


# What goes on an order's stream: event type prefix -> (frame type, the frame's fields). The first
# matching prefix wins; an event whose payload has no `order_id` is not sent. To put a new kind of
# event on the order stream, add a row (and its aggregate's topic to projector.TOPIC_AGGREGATES).
ORDER_STREAM_ROUTES: list[tuple[str, str, Callable[[Event], dict[str, Any]]]] = [
    ("order.", "order_status", _order_status_fields),
    ("payment.", "payment", _payment_fields),
    ("nft.mint.", "mint", _mint_fields),
    # shipment.requested is a command for the fulfilment consumer, not news for the buyer.
    *(
        ("shipment." + state, "shipment", _shipment_fields)
        for state in ("created", "shipped", "delivered", "cancelled")
    ),
]


def order_frame(event: Event, seq: int) -> StreamFrame | None:
    """The frame an event makes on its order's stream (ORDER_STREAM_ROUTES); None for anything else."""
    order_id = event.payload.get("order_id")
    if order_id is None:
        return None
    for prefix, kind, fields in ORDER_STREAM_ROUTES:
        if event.type.startswith(prefix):
            return protocol.stream_frame(kind, seq=seq, stream=f"order.{order_id}", order_id=order_id,
                                         **fields(event), at=event.occurred_at.isoformat())  # fmt: skip
    return None


def dashboard_template(merchant_id: int, data: dict[str, Any]) -> protocol.FrameTemplate:
    """A dashboard frame before its number (dashboard numbers come from a Redis counter)."""
    return protocol.frame_template("dashboard", stream=f"merchant.{merchant_id}", **data)
