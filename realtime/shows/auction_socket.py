"""The show socket's auction side: bids and giveaway entries from the viewer, and their own stream.

A signed-in viewer's socket also follows `bidder.<show>.<user>` (realtime/shows/bidders.py), where
"you were outbid" frames for them alone arrive. Bids go through the same service as REST
(commerce/auctions/services/bidding.py), so the rules and error codes are the same.
"""

from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async

from commerce.auctions.services import bidding, giveaways
from realtime.shows.bidders import bidder_stream
from realtime.ws.hub import Hub, Subscriber

if TYPE_CHECKING:
    from realtime.shows.client_messages import ClientMessage
    from realtime.shows.consumer import ShowConsumer


async def _no_resync() -> None:
    """Outbid frames are hints (the auction frame says who leads): nothing to resync."""


async def join(hub: Hub, consumer: "ShowConsumer") -> Subscriber | None:
    """Follow the viewer's own stream (signed-in viewer sockets only)."""
    if consumer.user is None or consumer.venue:
        return None
    sub = Subscriber(stream=bidder_stream(consumer.show_id, consumer.user.pk), send=consumer.base_send,
                     resync=_no_resync)  # fmt: skip
    await hub.join(sub)
    sub.finish_sync(0)
    return sub


async def handle(consumer: "ShowConsumer", message: "ClientMessage") -> dict[str, Any]:
    """A `bid` or `giveaway_enter` frame: call the service; the ack to send back (errors raise)."""
    f = message.fields
    if message.type == "bid":
        outcome = await database_sync_to_async(bidding.place_bid)(
            auction_id=f["auction_id"],
            user=consumer.user,
            amount=f.get("amount"),
            max_amount=f.get("max_amount"),
        )
        last = outcome.bids[-1] if outcome.bids else None
        return {"type": "ack", "ref": message.ref, "auction_id": f["auction_id"], "leading": outcome.leading,
                "amount": last.amount if last else None, "current_bid": outcome.auction.current_bid}  # fmt: skip
    entered = await database_sync_to_async(giveaways.enter_giveaway)(
        giveaway_id=f["giveaway_id"], user=consumer.user
    )
    return {
        "type": "ack",
        "ref": message.ref,
        "giveaway_id": f["giveaway_id"],
        "entered": True,
        "new": entered,
    }
