"""Fixtures for auction tests: the live-show fixtures plus an auction on it."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from commerce.auctions.models import Auction
from commerce.auctions.services import setup
from commerce.shows.models import Show
from commerce.shows.services import pins
from tests.shows.conftest import (  # noqa: F401 - fixtures
    browser,
    fast_paths,
    kafka_prefix,
    live_show,
    make_user,
    procs,
    redis_namespace,
    screenshots,
    shop,
    stack,
)


@pytest.fixture
def start_auction(live_show: Show, shop: dict[str, Any]) -> Callable[..., Auction]:  # noqa: F811
    pins.pin_product(show_id=live_show.pk, merchant_id=shop["merchant"].pk, product_id=shop["wearable"].pk)

    def start(**kw: Any) -> Auction:
        spec = setup.AuctionSpec(**{"starting_price": 1000, "duration_seconds": 60, **kw})
        return setup.create_auction(show_id=live_show.pk, merchant_id=shop["merchant"].pk, spec=spec)

    return start


def move_end(auction: Auction, seconds_from_now: float) -> None:
    """Put the auction's end `seconds_from_now` away (negative: in the past), as time would."""
    Auction.objects.filter(pk=auction.pk).update(ends_at=timezone.now() + timedelta(seconds=seconds_from_now))
