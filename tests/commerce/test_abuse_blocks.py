"""Velocity flags, the merchant's block / unblock (API and live-room page) and a blocked buyer refused."""

import secrets
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from commerce.abuse import blocklist
from commerce.abuse.blocklist import check_not_blocked
from commerce.abuse.errors import BuyerBlocked
from commerce.abuse.flags import flag_buyer
from commerce.abuse.models import BuyerBlock, BuyerFlag, FlagRule
from commerce.models import Reservation
from commerce.services import catalog
from realtime.models import OutboxEvent
from tests.commerce.conftest import client_for, counters

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_blocklist() -> None:
    blocklist.forget()


def an_ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def reserve(api: Any, drop_id: int, sku_id: int, ip: str = "127.0.0.1") -> Any:
    body = {"drop_id": drop_id, "sku_id": sku_id, "quantity": 1}
    return api.post("/api/v1/reservations/", body, format="json", REMOTE_ADDR=ip)


def base(shop: dict[str, Any], drop_id: int) -> str:
    return f"/api/v1/merchants/{shop['merchant'].pk}/drops/{drop_id}/"


def test_merchant_blocks_a_buyer_for_the_drop_and_their_reserve_is_refused(make_user, make_drop, shop):
    drop = make_drop(offered=10, limit=3)
    bot, human = make_user(), make_user()
    owner = client_for(shop["owner"])
    assert reserve(client_for(bot), drop.pk, shop["tee"].pk).status_code == 201
    blocked = owner.post(base(shop, drop.pk) + f"buyers/{bot.pk}/block/", {"reason": "script"}, format="json")
    assert blocked.status_code == 201, blocked.content
    assert blocked.json() == {
        "buyer_id": bot.pk,
        "drop_id": drop.pk,
        "scope": "drop",
        "blocked": True,
        "reason": "script",
    }
    refused = reserve(client_for(bot), drop.pk, shop["tee"].pk)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "buyer_blocked" and refused.json()["error"]["details"] == {
        "drop_id": drop.pk
    }
    assert Reservation.objects.filter(buyer=bot).count() == 1 and counters(drop, shop["tee"]) == (10, 1, 0)
    assert reserve(client_for(human), drop.pk, shop["tee"].pk).status_code == 201
    # Blocking again changes nothing and logs nothing new; one event for the block.
    again = owner.post(base(shop, drop.pk) + f"buyers/{bot.pk}/block/", {}, format="json")
    assert again.status_code == 200
    events = OutboxEvent.objects.filter(type="drop.buyer_blocked", aggregateid=str(drop.pk))
    assert [e.payload["buyer_id"] for e in events] == [bot.pk]
    assert events[0].payload["scope"] == "drop" and events[0].payload["blocked_by"] == shop["owner"].pk
    # Another drop of the shop is not affected by a drop block.
    other = make_drop(offered=5, limit=3)
    assert reserve(client_for(bot), other.pk, shop["tee"].pk).status_code == 201
    # Unblocked: the buyer may reserve again.
    lifted = owner.post(base(shop, drop.pk) + f"buyers/{bot.pk}/unblock/", {"scope": "drop"}, format="json")
    assert lifted.status_code == 200 and lifted.json()["blocked"] is False
    assert OutboxEvent.objects.filter(type="drop.buyer_unblocked", aggregateid=str(drop.pk)).count() == 1
    assert reserve(client_for(bot), drop.pk, shop["tee"].pk).status_code == 201


def test_a_shop_block_covers_every_drop_of_the_merchant_only(make_user, make_drop, shop):
    first, second = make_drop(offered=5, limit=2), make_drop(offered=5, limit=2)
    bot = make_user()
    owner = client_for(shop["owner"])
    response = owner.post(base(shop, first.pk) + f"buyers/{bot.pk}/block/", {"scope": "shop"}, format="json")
    assert response.status_code == 201
    for drop in (first, second):
        assert reserve(client_for(bot), drop.pk, shop["tee"].pk).json()["error"]["code"] == "buyer_blocked"
    # Another merchant's drop: the block is not theirs.
    rival_owner = make_user()
    rival = catalog.create_merchant(name="Rival", slug="rival", owner=rival_owner)
    rival_sku = catalog.create_product(
        merchant_id=rival.pk, kind="physical", title="Cap", skus=[catalog.SkuSpec(code="CAP", price=900)]
    ).skus.get()
    from commerce.services import drops

    rival_drop = drops.create_drop(
        merchant_id=rival.pk, title="Rival drop", starts_at=first.starts_at, ends_at=None, per_buyer_limit=2,
        items=[drops.DropItemSpec(sku_id=rival_sku.pk, quantity=5)],
    )  # fmt: skip
    drops.start_drop(drop_id=rival_drop.pk)
    assert reserve(client_for(bot), rival_drop.pk, rival_sku.pk).status_code == 201
    # ...and the rival cannot block in this shop's drops (no existence leak: 404).
    foreign = client_for(rival_owner).post(
        f"/api/v1/merchants/{rival.pk}/drops/{first.pk}/buyers/{bot.pk}/block/", {}, format="json"
    )
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"


def test_block_api_bad_input_gets_4xx_with_the_error_shape(make_user, make_drop, shop):
    drop = make_drop(offered=5, limit=2)
    buyer, stranger = make_user(), make_user()
    owner = client_for(shop["owner"])
    url = base(shop, drop.pk) + f"buyers/{buyer.pk}/block/"
    cases = [
        (owner.post(url, {"scope": "galaxy"}, format="json"), 400, "validation_error"),
        (owner.post(url, {"reason": "x" * 500}, format="json"), 400, "validation_error"),
        (owner.post(url, b"{not json", content_type="application/json"), 400, "malformed_request"),
        (owner.post(base(shop, drop.pk) + "buyers/999999999/block/", {}, format="json"), 404, "not_found"),
        (
            owner.post(base(shop, 999999999) + f"buyers/{buyer.pk}/block/", {}, format="json"),
            404,
            "not_found",
        ),
        (client_for(stranger).post(url, {}, format="json"), 404, "not_found"),
        (
            client_for(None).post(url, {}, format="json"),
            401,
            "not_authenticated",
        ),  # as every API view: token authentication is listed first, so 401 with WWW-Authenticate
        (client_for(stranger).get(base(shop, drop.pk) + "flagged-buyers/"), 404, "not_found"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.content
        assert response.json()["error"]["code"] == code and "message" in response.json()["error"]
    assert not BuyerBlock.objects.exists()


def test_reserving_faster_than_a_person_flags_the_buyer_in_the_live_room(
    settings, make_user, make_drop, shop
):
    settings.ABUSE_THROTTLE_ENABLED = True
    settings.ABUSE_THROTTLE_RATES = {"reserve.user": "100000/d", "reserve.ip": "100000/d"}
    settings.ABUSE_FLAG_RESERVES_PER_MINUTE = 3
    drop = make_drop(offered=20, limit=2)
    bot, human = make_user(), make_user()
    api = client_for(bot)
    # 8 attempts (most refused by the per-buyer limit: refusals count too); even split over a minute
    # boundary one window sees more than 3.
    statuses = [reserve(api, drop.pk, shop["tee"].pk, an_ip()).status_code for _ in range(8)]
    assert statuses[:2] == [201, 201] and set(statuses[2:]) == {409}
    assert reserve(client_for(human), drop.pk, shop["tee"].pk).status_code == 201
    flag = BuyerFlag.objects.get(buyer=bot, rule=FlagRule.RESERVE_RATE)
    assert flag.drop_id == drop.pk and "reserve attempts within a minute" in flag.reason
    assert not BuyerFlag.objects.filter(buyer=human).exists()
    listed = client_for(shop["owner"]).get(base(shop, drop.pk) + "flagged-buyers/")
    assert listed.status_code == 200
    (row,) = listed.json()
    assert row["buyer_id"] == bot.pk and row["username"] == bot.username and row["blocked"] == ""
    assert row["flags"][0]["rule"] == "reserve_rate"


def test_many_accounts_from_one_address_are_flagged(settings):
    settings.ABUSE_FLAG_ACCOUNTS_PER_IP_PER_HOUR = 2
    anonymous, ip = client_for(None), an_ip()
    ids = []
    for _ in range(5):  # even split over an hour boundary, one window sees more than 2
        body = {"username": f"farm{secrets.token_hex(4)}", "password": "s3cret-pass"}
        created = anonymous.post("/api/v1/auth/signup/", body, format="json", REMOTE_ADDR=ip)
        assert created.status_code == 201
        ids.append(created.json()["user_id"])
    flagged = set(BuyerFlag.objects.filter(rule=FlagRule.ACCOUNTS_PER_IP).values_list("buyer_id", flat=True))
    assert flagged and flagged <= set(ids[2:])
    assert ids[0] not in flagged and ids[1] not in flagged
    # Another address starts its own count.
    solo = anonymous.post(
        "/api/v1/auth/signup/", {"username": f"solo{secrets.token_hex(4)}", "password": "s3cret-pass"},
        format="json", REMOTE_ADDR=an_ip(),
    )  # fmt: skip
    assert not BuyerFlag.objects.filter(buyer_id=solo.json()["user_id"]).exists()


def test_a_flag_is_written_once_a_minute_per_buyer_and_rule(make_user, make_drop):
    drop = make_drop(offered=5, limit=2)
    buyer = make_user()
    assert flag_buyer(buyer_id=buyer.pk, drop_id=drop.pk, rule=FlagRule.THROTTLED, reason="one")
    assert not flag_buyer(buyer_id=buyer.pk, drop_id=drop.pk, rule=FlagRule.THROTTLED, reason="two")
    # A made-up drop id still flags the buyer (without the drop).
    assert flag_buyer(buyer_id=buyer.pk, drop_id=987654321, rule=FlagRule.THROTTLED, reason="elsewhere")
    assert BuyerFlag.objects.filter(buyer=buyer).count() == 2
    assert BuyerFlag.objects.get(buyer=buyer, drop=drop).reason == "one"


def test_console_live_room_shows_flagged_buyers_and_blocks_them(make_user, make_drop, shop):
    drop = make_drop(offered=10, limit=2)
    bot = make_user()
    assert reserve(client_for(bot), drop.pk, shop["tee"].pk).status_code == 201
    flag_buyer(
        buyer_id=bot.pk,
        drop_id=drop.pk,
        rule=FlagRule.RESERVE_RATE,
        reason="41 reserve attempts within a minute",
    )
    page = Client()
    page.force_login(shop["owner"])
    room_url = f"/console/{shop['merchant'].pk}/drops/{drop.pk}/live/"
    html = page.get(room_url).content.decode()
    assert f'data-flagged-buyer="{bot.pk}"' in html and "41 reserve attempts within a minute" in html
    assert "Block in this drop" in html and "Block in the shop" in html
    posted = page.post(
        f"/console/{shop['merchant'].pk}/drops/{drop.pk}/buyers/{bot.pk}/block/",
        {"scope": "drop", "reason": "41 reserve attempts within a minute"},
    )
    assert posted.status_code == 302 and posted["Location"].startswith(room_url)
    assert BuyerBlock.objects.filter(drop=drop, buyer=bot).exists()
    html = page.get(room_url).content.decode()
    assert "Blocked in this drop" in html and "Unblock" in html
    assert reserve(client_for(bot), drop.pk, shop["tee"].pk).json()["error"]["code"] == "buyer_blocked"
    # A stranger cannot post the form (404), nor GET it (405).
    stranger = Client()
    stranger.force_login(make_user())
    url = f"/console/{shop['merchant'].pk}/drops/{drop.pk}/buyers/{bot.pk}/unblock/"
    assert stranger.post(url, {"scope": "drop"}).status_code == 404
    assert page.get(url).status_code == 405
    assert page.post(url.replace("/unblock/", "/explode/"), {}).status_code == 404
    assert page.post(url, {"scope": "drop"}).status_code == 302
    assert reserve(client_for(bot), drop.pk, shop["tee"].pk).status_code == 201


def test_the_block_check_is_answered_from_memory(settings, make_user, make_drop, shop):
    """One query per drop and cache window, none per reserve; another process's block lands within it."""
    settings.ABUSE_BLOCKLIST_CACHE_SECONDS = 60
    drop = make_drop(offered=5, limit=2)
    bot, human = make_user(), make_user()
    with CaptureQueriesContext(connection) as first:
        check_not_blocked(drop_id=drop.pk, buyer_id=human.pk)
    with CaptureQueriesContext(connection) as later:
        for _ in range(100):
            check_not_blocked(drop_id=drop.pk, buyer_id=human.pk)
    assert len(first) == 1 and len(later) == 0
    # A block written elsewhere (no local invalidation) is seen once the window has passed.
    BuyerBlock.objects.create(merchant=shop["merchant"], drop=drop, buyer=bot)
    check_not_blocked(drop_id=drop.pk, buyer_id=bot.pk)  # still the cached set
    settings.ABUSE_BLOCKLIST_CACHE_SECONDS = 0.05
    blocklist.forget(drop.pk)
    check_not_blocked(drop_id=drop.pk, buyer_id=human.pk)
    deadline = time.monotonic() + 30
    while True:
        try:
            check_not_blocked(drop_id=drop.pk, buyer_id=bot.pk)
        except BuyerBlocked:
            break
        assert time.monotonic() < deadline, "the block never reached this process"
        time.sleep(0.05)
