"""Kafka handlers of the nft consumer group."""

from django.conf import settings
from django.db import transaction

from nft.errors import NftError
from nft.metadata import metadata_from_payload
from nft.services.mints import get_collection, request_mint
from realtime.events import Event
from realtime.registry import handles


class WrongChain(NftError):
    code = "wrong_chain"


@handles("nft", "nft.mint.requested")
def on_mint_requested(event: Event) -> None:
    """Record the mint of the line (idempotent) and queue its send once the inbox row commits."""
    p = event.payload
    if int(p["chain_id"]) != settings.CHAIN_ID:
        raise WrongChain(f"this node signs for chain {settings.CHAIN_ID}, not {p['chain_id']}")
    mint = request_mint(
        order_id=p["order_id"],
        line_id=p["line_id"],
        collection=get_collection(chain_id=p["chain_id"], address=p["contract_address"]),
        to_address=p["to_address"],
        token_id=int(p["token_id"]),
        metadata=metadata_from_payload(p),
        metadata_uri=p.get("metadata_uri", ""),
    )
    from nft.tasks import send_mint

    transaction.on_commit(lambda: send_mint.delay(mint.pk))
