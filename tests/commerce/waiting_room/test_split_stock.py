"""The waiting room admits against free units, which for a split hot item live on its stock shards."""

from typing import Any

import pytest

from commerce.services.reservations import reserve_stock
from commerce.services.stock_split import split_item_stock
from commerce.waiting_room import services as rooms

pytestmark = pytest.mark.django_db


def test_free_units_count_the_items_row_and_its_shards(queued_drop: Any, make_user: Any) -> None:
    drop = queued_drop(live=True, offered=40, limit=5)
    item = drop.items.get()
    reserve_stock(drop_id=drop.pk, sku_id=item.sku_id, buyer_id=make_user().pk, quantity=2)  # on the row
    split_item_stock(item_id=item.pk, shards=4)  # the 38 free units move to 4 shards
    config = rooms.load_config(drop_id=drop.pk)
    assert config is not None and config.queued
    assert config.free_units == 38

    reserve_stock(drop_id=drop.pk, sku_id=item.sku_id, buyer_id=make_user().pk, quantity=3)  # on a shard
    config = rooms.load_config(drop_id=drop.pk)
    assert config is not None and config.free_units == 35
    assert rooms.queued_drop_ids() == [drop.pk]
