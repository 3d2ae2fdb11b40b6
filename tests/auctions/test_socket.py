"""Bidding over the show socket on a real uvicorn: the `auction` frame to every viewer (and the venue),
"you were outbid" to the previous leader only, refusals to the sender only, giveaway entry."""

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from commerce.auctions.models import Auction, Bid, GiveawayEntry
from commerce.auctions.services import giveaways
from commerce.shows.models import Show
from tests.tokens import ws_ticket
from tests.ws.conftest import Processes
from tests.ws.live_client import LiveClient

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]
WAIT = 15.0  # a bound for one frame to arrive, not a measurement
CONTRACT_KEYS = {"id", "state", "product_id", "title", "current_bid", "next_bid", "currency", "ends_at",
                 "server_time", "leader", "bids"}  # fmt: skip


async def _until(client: LiveClient, test: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + WAIT
    while asyncio.get_running_loop().time() < deadline:
        for frame in client.frames:
            if test(frame):
                return frame
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {what} frame; got {[f.get('type') for f in client.frames][-30:]}")


def _url(base: str, show: Show, user: User | None = None, venue: bool = False) -> str:
    token = f"?ticket={ws_ticket(user)}" if user else ""
    return f"{base}/ws/shows/{show.pk}/{'venue/' if venue else ''}{token}"


def test_bids_outbid_and_refusals_over_the_socket(
    procs: Processes,
    live_show: Show,
    shop: dict[str, Any],
    make_user: Callable[..., User],
    start_auction: Callable[..., Auction],
) -> None:
    base = procs.asgi()
    auction = start_auction(starting_price=1000, increments=[[0, 100]])
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")

    async def run() -> None:
        a, b, c = [await LiveClient(_url(base, live_show, u)).open() for u in (alice, bob, carol)]
        anon = await LiveClient(_url(base, live_show)).open()
        venue = await LiveClient(_url(base, live_show, venue=True)).open()
        for client in (a, b, c, anon, venue):
            snap = await _until(client, lambda f: f["type"] == "snapshot", "snapshot")
            assert snap["auction"]["id"] == auction.pk and snap["auction"]["state"] == "open"
            assert set(snap["auction"]) >= CONTRACT_KEYS

        await a.send({"type": "bid", "auction_id": auction.pk, "amount": 1000, "ref": "a1"})
        ack = await _until(a, lambda f: f["type"] == "ack" and f.get("ref") == "a1", "ack")
        assert ack["leading"] is True and ack["current_bid"] == 1000
        for client in (anon, venue):
            f = await _until(
                client, lambda f: f["type"] == "auction" and f["auction"]["bids"] == 1, "auction"
            )
            assert set(f["auction"]) >= CONTRACT_KEYS and f["auction"]["leader"] == alice.get_username()
            assert f["auction"]["current_bid"] == 1000 and f["auction"]["next_bid"] == 1100

        await b.send({"type": "bid", "auction_id": auction.pk, "amount": 1300, "ref": "b1"})
        outbid = await _until(a, lambda f: f["type"] == "outbid", "outbid")
        assert outbid["auction_id"] == auction.pk and outbid["amount"] == 1300
        seen = await _until(anon, lambda f: f["type"] == "auction" and f["auction"]["bids"] == 2, "auction")
        assert seen["auction"]["leader"] == bob.get_username()

        # Refusals go to the sender only and change nothing.
        bad: list[tuple[dict[str, Any], str]] = [
            ({"amount": 1350}, "bid_too_low"), ({"amount": "lots"}, "bid_invalid"), ({"amount": -5}, "bid_invalid"),
            ({"amount": 1.5}, "bid_invalid"), ({"amount": 2000}, "already_leading"),
        ]  # fmt: skip
        for i, (body, code) in enumerate(bad):
            sender = b if code == "already_leading" else c
            await sender.send({"type": "bid", "auction_id": auction.pk, "ref": f"x{i}", **body})
            ref = f"x{i}"

            def answered(f: dict[str, Any], ref: str = ref) -> bool:
                return f.get("ref") == ref

            err = await _until(sender, answered, "refusal")
            assert err["type"] == "error" and err["code"] == code, err
        await c.send({"type": "bid", "auction_id": 987654, "amount": 5000, "ref": "unknown"})
        assert (await _until(c, lambda f: f.get("ref") == "unknown", "unknown"))[
            "code"
        ] == "auction_not_found"
        await anon.send({"type": "bid", "auction_id": auction.pk, "amount": 5000, "ref": "anon"})
        assert (await _until(anon, lambda f: f.get("ref") == "anon", "anon"))[
            "code"
        ] == "bid_not_authenticated"
        await venue.send({"type": "bid", "auction_id": auction.pk, "amount": 5000, "ref": "venue"})
        assert (await _until(venue, lambda f: f.get("type") == "error", "venue"))[
            "code"
        ] == "unknown_message_type"

        # Nobody but alice got an outbid frame.
        assert not [f for x in (b, c, anon, venue) for f in x.frames if f["type"] == "outbid"]

        # Giveaway: entered from the socket; the drawn frame reveals the seed.
        g = await asyncio.to_thread(
            giveaways.open_giveaway, show_id=live_show.pk, merchant_id=shop["merchant"].pk, title="Stickers"
        )
        opened = await _until(anon, lambda f: f["type"] == "giveaway", "giveaway")
        assert opened["giveaway"]["seed"] is None and len(opened["giveaway"]["seed_hash"]) == 64
        await c.send({"type": "giveaway_enter", "giveaway_id": g.pk, "ref": "g"})
        assert (await _until(c, lambda f: f.get("ref") == "g", "entered"))["entered"] is True
        await anon.send({"type": "giveaway_enter", "giveaway_id": g.pk, "ref": "g"})
        assert (await _until(anon, lambda f: f.get("ref") == "g", "anon"))[
            "code"
        ] == "giveaway_not_authenticated"
        await asyncio.to_thread(giveaways.draw_giveaway, giveaway_id=g.pk, merchant_id=shop["merchant"].pk)
        drawn = await _until(
            a, lambda f: f["type"] == "giveaway" and f["giveaway"]["state"] == "drawn", "drawn"
        )
        assert drawn["giveaway"]["winner"] == carol.get_username() and len(drawn["giveaway"]["seed"]) == 64
        for client in (a, b, c, anon, venue):
            await client.close()

    asyncio.run(run())
    assert list(Bid.objects.filter(auction=auction).values_list("amount", flat=True)) == [1000, 1300]
    assert GiveawayEntry.objects.filter(user=carol).count() == 1
