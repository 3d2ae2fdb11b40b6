"""The show socket on a real uvicorn process, real Redis and PostgreSQL: late joiners, chat rules, moderation,
presence, and following a flash drop that the host launches while viewers watch."""

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from commerce.shows.models import ChatMessage, Show
from commerce.shows.services import chat, flash, pins
from tests.tokens import ws_ticket
from tests.ws.conftest import Processes
from tests.ws.live_client import LiveClient

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]
WAIT = 15.0  # a bound for one frame to arrive, not a measurement


async def _until(client: LiveClient, test: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + WAIT
    while asyncio.get_running_loop().time() < deadline:
        for frame in client.frames:
            if test(frame):
                return frame
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {what} frame; got {[f.get('type') for f in client.frames]}")


def _url(base: str, show: Show, user: User | None = None, venue: bool = False) -> str:
    token = f"?ticket={ws_ticket(user)}" if user else ""
    return f"{base}/ws/shows/{show.pk}/{'venue/' if venue else ''}{token}"


def test_late_joiner_gets_pin_stock_and_last_messages(
    procs: Processes, live_show: Show, shop: dict[str, Any], make_user: Callable[..., User], settings: Any
) -> None:
    settings.SHOWS_CHAT_RATE_LIMIT = 100
    link = flash.launch_flash_drop(
        show_id=live_show.pk, merchant_id=shop["merchant"].pk,
        spec=flash.FlashDropSpec(product_id=shop["wearable"].pk, quantity=7, duration_seconds=300),
    )  # fmt: skip
    viewer = make_user()
    for i in range(52):
        chat.post_message(show_id=live_show.pk, user=viewer, text=f"line {i}")
    base = procs.asgi()
    url, venue_url = _url(base, live_show), _url(base, live_show, venue=True)

    async def run() -> None:
        late = await LiveClient(url).open()
        snap = await _until(
            late, lambda f: f["type"] == "snapshot" and f["stream"] == f"show.{live_show.pk}", "snapshot"
        )
        assert snap["pinned"]["product_id"] == shop["wearable"].pk
        assert snap["pinned"]["animation_url"] == "https://example.test/jacket.glb"
        assert snap["flash_drop"]["skus"][0]["available"] == 7
        assert [m["text"] for m in snap["messages"]] == [f"line {i}" for i in range(2, 52)]
        drop = await _until(late, lambda f: f["stream"] == f"drop.{link.drop_id}", "drop snapshot")
        assert drop["type"] == "snapshot" and drop["flash_drop"]["drop_id"] == link.drop_id
        venue = await LiveClient(venue_url).open()
        vsnap = await _until(venue, lambda f: f["type"] == "snapshot", "venue snapshot")
        assert "messages" not in vsnap and vsnap["pinned"]["animation_url"].endswith(".glb")
        await late.close()
        await venue.close()

    asyncio.run(run())


def test_chat_moderation_and_bad_input_over_the_socket(
    procs: Processes, live_show: Show, shop: dict[str, Any], make_user: Callable[..., User], settings: Any
) -> None:
    # A fixed window far longer than this test: with the default 10 s, a slow box (this test took
    # 60 s in a full run) rolled the window over in the middle of the flood and nothing was refused.
    settings.SHOWS_CHAT_RATE_WINDOW_SECONDS = 600
    base = procs.asgi()
    alice, mallory = make_user("alice"), make_user("mallory")
    stream = f"show.{live_show.pk}"
    urls = [_url(base, live_show, u) for u in (shop["owner"], alice, mallory, None)]

    async def run() -> None:
        host, a, m, anon = [await LiveClient(url).open() for url in urls]
        for c in (host, a, m, anon):
            await _until(c, lambda f: f["type"] == "snapshot", "snapshot")
        you = await _until(host, lambda f: f["type"] == "you", "you")
        assert you["is_host"] is True

        # Bad input: refused with a clear error to the sender, nothing stored, nobody else sees it.
        bad = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "x" * 301, "", 42]
        for i, text in enumerate(bad):
            await m.send({"type": "chat", "text": text, "ref": f"bad{i}"})
        for i in range(len(bad)):
            ref = f"bad{i}"

            def refused(f: dict[str, Any], ref: str = ref) -> bool:
                return f["type"] == "error" and f.get("ref") == ref

            err = await _until(m, refused, "error")
            assert err["code"] in ("chat_markup_refused", "chat_message_too_long", "chat_message_invalid")
        await anon.send({"type": "chat", "text": "hello", "ref": "anon"})
        err = await _until(anon, lambda f: f.get("ref") == "anon", "anon error")
        assert err["code"] == "not_authenticated"
        await a.send({"type": "chat", "text": "hi <3", "ref": "a1"})
        seen = await _until(anon, lambda f: f["type"] == "chat", "chat")
        assert seen["message"]["text"] == "hi <3" and seen["stream"] == stream
        assert not any(f["type"] == "chat" and "<script" in f["message"]["text"] for f in anon.frames)

        # A viewer cannot moderate; the host mutes mallory and deletes alice's message.
        await m.send({"type": "mute", "user_id": alice.pk, "ref": "nope"})
        assert (await _until(m, lambda f: f.get("ref") == "nope", "not host"))["code"] == "not_host"
        await host.send({"type": "mute", "user_id": mallory.pk, "ref": "mute"})
        await _until(host, lambda f: f["type"] == "ack" and f.get("ref") == "mute", "mute ack")
        await m.send({"type": "chat", "text": "am I muted?", "ref": "muted"})
        assert (await _until(m, lambda f: f.get("ref") == "muted", "muted"))["code"] == "chat_muted"
        await host.send({"type": "delete", "message_id": seen["message"]["id"], "ref": "del"})
        gone = await _until(anon, lambda f: f["type"] == "chat_deleted", "chat_deleted")
        assert gone["message_id"] == seen["message"]["id"]

        # Flood: past the per-user limit the socket answers chat_rate_limited.
        for i in range(settings.SHOWS_CHAT_RATE_LIMIT + 2):
            await a.send({"type": "chat", "text": f"flood {i}", "ref": f"f{i}"})
        limited = await _until(a, lambda f: f.get("code") == "chat_rate_limited", "rate limited")
        assert limited["details"]["retry_after"] >= 1

        # Presence: four sockets on the show, pushed at most once a second.
        counted = await _until(anon, lambda f: f["type"] == "presence" and f["viewers"] == 4, "presence")
        assert counted["stream"] == stream
        for c in (host, a, m, anon):
            await c.close()

    asyncio.run(run())
    texts = list(ChatMessage.objects.filter(show=live_show).values_list("text", flat=True))
    assert not any("<" in t and "<3" not in t for t in texts)
    assert "am I muted?" not in texts
    # The limiter is a fixed window: "hi <3" counts in it unless the window rolled over before the
    # flood (a slow box), so LIMIT - 1 or LIMIT floods pass -- never more, and the rest are refused.
    floods = len([t for t in texts if t.startswith("flood")])
    assert floods in (settings.SHOWS_CHAT_RATE_LIMIT - 1, settings.SHOWS_CHAT_RATE_LIMIT)


def test_viewers_follow_a_flash_drop_launched_live(
    procs: Processes, live_show: Show, shop: dict[str, Any]
) -> None:
    url = _url(procs.asgi(), live_show)

    async def run() -> None:
        viewer = await LiveClient(url).open()
        await _until(viewer, lambda f: f["type"] == "snapshot", "snapshot")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: pins.pin_product(
            show_id=live_show.pk, merchant_id=shop["merchant"].pk, product_id=shop["tee"].pk))  # fmt: skip
        pinned = await _until(viewer, lambda f: f["type"] == "pinned", "pinned")
        assert pinned["product"]["title"] == "Tee"
        link = await loop.run_in_executor(None, lambda: flash.launch_flash_drop(
            show_id=live_show.pk, merchant_id=shop["merchant"].pk,
            spec=flash.FlashDropSpec(quantity=3, duration_seconds=60)))  # fmt: skip
        launched = await _until(viewer, lambda f: f["type"] == "flash_drop", "flash_drop")
        assert launched["flash_drop"]["skus"][0]["available"] == 3
        snap = await _until(viewer, lambda f: f["stream"] == f"drop.{link.drop_id}", "drop stream")
        assert snap["type"] == "snapshot"
        seqs = [f["seq"] for f in viewer.frames if f.get("stream") == f"show.{live_show.pk}" and "seq" in f]
        assert seqs == sorted(seqs) and len(set(seqs[1:])) == len(seqs[1:])
        await viewer.close()

    asyncio.run(run())
