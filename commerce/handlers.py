"""Consumer group `fulfilment`: shipments for paid orders and for phygital redemptions.

Each handler decodes and calls one service; the runner's inbox makes a redelivered event a no-op,
and the services are idempotent on top of that (one shipment per order, one per redemption).
"""

from commerce.addresses import address_from_snapshot
from commerce.services import shipments
from realtime.events import Event
from realtime.registry import handles

GROUP = "fulfilment"


@handles(GROUP, "shipment.requested")
def on_shipment_requested(event: Event) -> None:
    shipments.create_order_shipment(order_id=int(event.payload["order_id"]))


@handles(GROUP, "nft.redeemed")
def on_nft_redeemed(event: Event) -> None:
    p = event.payload
    shipments.create_redemption_shipment(
        redemption_id=int(p["redemption_id"]),
        merchant_id=int(p["merchant_id"]),
        buyer_id=int(p["owner_user_id"]),
        sku_id=p["sku_id"],
        product_id=int(p["product_id"]),
        token_id=str(p["token_id"]),
        address=address_from_snapshot(p["shipping_address"]),  # validated by the event's schema
    )
