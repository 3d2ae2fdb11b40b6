"""One process of the auction race test: bids for its share of the bidders, then bids at the end.

Run as `python -m tests.auctions.race_bidder <auction id> <first user id> <count> <bids each> <seed> <out>`
with the test's DATABASE_URL. Phase 1: round-robin over its users, each attempt reading the auction
(unlocked, so often stale, as a real client's view is) and bidding the next bid plus 0-2 steps,
sometimes with a max bid, sometimes too low on purpose. Phase 2: once the auction's end has passed
by the database clock (it may not be closed yet), valid-looking bids race the closer. Every attempt
and its outcome goes to <out> as JSON.
"""

import json
import os
import random
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.utils import timezone

    from commerce.auctions.errors import AuctionError
    from commerce.auctions.increments import next_bid, step_at
    from commerce.auctions.models import Auction
    from commerce.auctions.services.bidding import place_bid

    auction_id, first, count, each, seed = (int(a) for a in sys.argv[1:6])
    out = sys.argv[6]
    rng = random.Random(seed)
    users = list(User.objects.filter(pk__gte=first).order_by("pk")[:count])
    attempts: list[dict[str, object]] = []
    with open(out + ".ready", "w") as f:  # set up: the test opens the auction once every process is
        f.write("ready")
    deadline = time.monotonic() + 600
    while Auction.objects.get(pk=auction_id).state == "scheduled" and time.monotonic() < deadline:
        time.sleep(0.01)

    def attempt(user: User, phase: int) -> None:
        a = Auction.objects.get(pk=auction_id)
        nxt = next_bid(table=a.increments, starting_price=a.starting_price, current=a.current_bid)
        step = step_at(a.increments, a.current_bid or 0)
        roll = rng.random()
        amount = nxt - step if roll < 0.05 and a.current_bid else nxt + rng.randint(0, 2) * step
        cap = amount + rng.randint(1, 5) * step if 0.05 <= roll < 0.15 else None
        row: dict[str, object] = {"user": user.pk, "amount": amount, "max": cap, "phase": phase,
                                  "sent": time.time()}  # fmt: skip
        try:
            outcome = place_bid(auction_id=auction_id, user=user, amount=amount, max_amount=cap)
            row["accepted"] = [[b.seq, b.bidder_id, b.amount] for b in outcome.bids]
            row["leading"] = outcome.leading
        except AuctionError as exc:
            row["error"] = exc.code
        attempts.append(row)

    for _ in range(each - 1):
        for user in users:
            attempt(user, 1)
    # Phase 2: wait for the end by server time, then everyone bids once more.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        a = Auction.objects.get(pk=auction_id)
        if a.state != "open" or (a.ends_at is not None and timezone.now() >= a.ends_at):
            break
        time.sleep(0.01)
    for user in users:
        attempt(user, 2)
    with open(out + ".part", "w") as f:
        json.dump(attempts, f)
    os.replace(out + ".part", out)  # the test waits for <out> to exist: it must appear complete


if __name__ == "__main__":
    main()
