"""The auction race test's scheduler stand-in: calls `close_auction` every 20 ms until it has closed.

Run as `python -m tests.auctions.closer <auction id>`; this is what the worker's eta task does at
`ends_at` (re-checked under the row lock), repeated so a close is attempted all along the race.
"""

import os
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from commerce.auctions.services.closing import close_auction

    auction_id = int(sys.argv[1])
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if close_auction(auction_id=auction_id).state not in ("open", "scheduled"):
            return
        time.sleep(0.02)


if __name__ == "__main__":
    main()
