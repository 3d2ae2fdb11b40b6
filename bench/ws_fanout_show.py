"""Show mode of bench/ws_fanout.py: N viewers on one live show's socket, chat at a steady rate, a flash drop selling out.

    .venv/bin/python bench/ws_fanout.py --mode show --sockets 2000 --chat-rate 20 --flash-units 1000

Viewers connect to /ws/shows/<id>/ (one socket each, which also carries the flash drop's stock
stream). Once all are connected the driver posts chat through the chat service (persist + outbox +
push on commit) at `--chat-rate` messages/s, launches a flash drop through the show service and
reserves it until sold out through commerce's reservation service (relay -> Kafka -> projector ->
hub). Printed: share of viewers that reached the sold-out state, chat delivery ratio, p50/p99/max
latency of chat, flash-drop launch and stock frames, against the raw `websockets` broadcast floor
measured in the same run with the same clients.
"""

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

LINGER_S = 3.0  # after the sold-out frame, keep reading chat this long


async def _viewer(url: str, out: dict[str, Any], sem: asyncio.Semaphore, deadline: float) -> None:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    async with sem:
        ws = await connect(url, origin=Origin("http://127.0.0.1"), compression=None, open_timeout=120,
                           max_queue=None, ping_interval=None)  # fmt: skip
    from ws_clients import ready_on_snapshot

    counted = not ready_on_snapshot()
    if counted:
        out["connected"] += 1
    async with ws:
        stop_at = deadline
        reached = False  # a viewer counts once, whether the final state came by snapshot, frame or both
        while time.monotonic() < stop_at:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=max(0.05, stop_at - time.monotonic()))
            except TimeoutError:
                break
            now = time.time()
            doc = json.loads(raw)
            kind = doc.get("type")
            out["frames"] += 1
            if not counted and kind == "snapshot":
                counted = True
                out["connected"] += 1
            if kind == "chat":
                out["chat"].append(now - datetime.fromisoformat(doc["at"]).timestamp())
            elif kind == "chat_batch":  # each message's own commit time: the wait in the batch counts
                out["chat"].extend(now - datetime.fromisoformat(f["at"]).timestamp() for f in doc["frames"])
                out["chat_batches"] = out.get("chat_batches", 0) + 1
            elif kind == "flash_drop":
                out["launch"].append(now - datetime.fromisoformat(doc["at"]).timestamp())
            elif kind == "snapshot" and str(doc.get("stream", "")).startswith("drop."):
                # A viewer that starts following the drop after it sold out gets the final state here.
                state = doc["flash_drop"]
                if not reached and (
                    state["state"] == "sold_out" or min(s["available"] for s in state["skus"]) == 0
                ):
                    reached = True
                    out["final"] += 1
                    out["final_by_snapshot"] = out.get("final_by_snapshot", 0) + 1
                    stop_at = min(deadline, time.monotonic() + LINGER_S)
            elif kind == "stock":
                out["stock"].append(now - datetime.fromisoformat(doc["at"]).timestamp())
                out["fanout"].append(
                    now - datetime.fromisoformat(doc.get("published_at", doc["at"])).timestamp()
                )
                if not reached and (doc["sold_out"] or min(s["available"] for s in doc["skus"]) == 0):
                    reached = True
                    out["final"] += 1
                    stop_at = min(deadline, time.monotonic() + LINGER_S)


async def worker(url: str, count: int, timeout: float) -> None:
    """A client subprocess: `count` viewers; prints {"ready": n}, then its measurements."""
    from ws_clients import run_client_pool  # bench/ is sys.path[0] when run as a script

    out: dict[str, Any] = {"connected": 0, "final": 0, "frames": 0, "chat": [], "launch": [], "stock": [],
                           "fanout": []}  # fmt: skip
    await run_client_pool(_viewer, url, out, count, timeout)


def run(args: Any, env: dict[str, str], port: int, pct: Any, *, on_ready: Any = None) -> dict[str, Any]:
    """Set up the show, run viewers + driver against the ws server on `port`; return the figures.

    `on_ready()` is called once every viewer is connected (the server's CPU is counted from there).
    """
    from django.contrib.auth.models import User
    from django.utils import timezone
    from ws_clients import start_client_pools  # bench/ is sys.path[0] when run as a script

    from commerce.services import catalog
    from commerce.services.reservations import reserve_stock
    from commerce.shows.services import flash, lifecycle, pins

    tag = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(username=f"bench-host-{tag}")
    merchant = catalog.create_merchant(name="Bench show", slug=f"bench-show-{tag}", owner=owner)
    product = catalog.create_product(merchant_id=merchant.pk, kind="physical", title="Bench hoodie",
                                     skus=[catalog.SkuSpec(code="H", price=100)])  # fmt: skip
    show = lifecycle.create_show(merchant_id=merchant.pk, title="Bench show", playback_url="/x.m3u8",
                                 scheduled_at=timezone.now())  # fmt: skip
    lifecycle.go_live(show_id=show.pk, merchant_id=merchant.pk)
    pins.pin_product(show_id=show.pk, merchant_id=merchant.pk, product_id=product.pk)
    chatters = [User.objects.create_user(username=f"bench-chat-{tag}-{i}") for i in range(10)]
    buyers = [User.objects.create_user(username=f"bench-buy-{tag}-{i}").pk for i in range(args.threads)]

    url = f"ws://127.0.0.1:{port}/ws/shows/{show.pk}/"
    procs = start_client_pools("show", url, args.sockets, args.client_workers, args.timeout, args.client_impl,
                               ready_on_snapshot=True)  # fmt: skip
    t0 = time.monotonic()
    ready = sum(json.loads(p.stdout.readline() or '{"ready": 0}')["ready"] for p in procs)  # type: ignore[union-attr]
    connect_s = time.monotonic() - t0
    if on_ready is not None:
        on_ready()
    # Chat comes from a process of its own, as from a web process: as a thread of this one it
    # waited for the GIL behind the 4 reservation threads, and its `at` stamp with it.
    driver = [sys.executable, str(Path(__file__).with_name("ws_fanout.py")), "--chat-driver"]
    chatter_ids = ",".join(str(u.pk) for u in chatters)
    chat_proc = subprocess.Popen(
        [*driver, str(show.pk), chatter_ids, str(args.chat_rate)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert chat_proc.stdin is not None and chat_proc.stdout is not None
    chat_in, chat_out = chat_proc.stdin, chat_proc.stdout
    chat_out.readline()  # {"ready": true}: Django is set up, chat starts now

    def sell_out() -> None:
        time.sleep(1.0)  # some chat first
        link = flash.launch_flash_drop(show_id=show.pk, merchant_id=merchant.pk, spec=flash.FlashDropSpec(
            quantity=args.flash_units, duration_seconds=3600, per_buyer_limit=args.flash_units))  # fmt: skip
        time.sleep(1.0)  # viewers follow the drop's stream before it moves
        sku_id = link.drop.items.get().sku_id

        def buy(buyer_id: int, count: int) -> None:
            for _ in range(count):
                reserve_stock(drop_id=link.drop_id, sku_id=sku_id, buyer_id=buyer_id, quantity=1)

        share = [args.flash_units // args.threads + (1 if i < args.flash_units % args.threads else 0)
                 for i in range(args.threads)]  # fmt: skip
        threads = [threading.Thread(target=buy, args=(b, n)) for b, n in zip(buyers, share, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        chat_in.write("stop\n")  # chat stops with the sale: viewers stop reading soon after
        chat_in.flush()

    drivers = [threading.Thread(target=sell_out)]
    for d in drivers:
        d.start()
    results = [json.loads(p.stdout.readline() or "{}") for p in procs]  # type: ignore[union-attr]
    for d in drivers:
        d.join()
    posted = json.loads(chat_out.readline() or '{"posted": 0}')["posted"]
    chat_proc.wait(30)
    for p in procs:
        p.wait(30)

    def joined(name: str) -> list[float]:
        return [x for r in results for x in r.get(name, [])]

    def summary(values: list[float]) -> dict[str, Any]:
        return {
            "p50": pct(values, 0.5),
            "p99": pct(values, 0.99),
            "max": pct(values, 1.0),
            "samples": len(values),
        }

    chat_frames = len(joined("chat"))
    return {
        "connected": ready,
        "connect_s": round(connect_s, 1),
        "final_delivery_ratio": round(sum(r.get("final", 0) for r in results) / args.sockets, 4),
        "final_by_snapshot": sum(r.get("final_by_snapshot", 0) for r in results),
        "chat_posted": posted,
        "chat_rate_per_s": args.chat_rate,
        "chat_delivery_ratio": round(chat_frames / (posted * args.sockets), 4) if posted else None,
        "chat_latency_ms": summary(joined("chat")),
        "flash_launch_latency_ms": summary(joined("launch")),
        "latency_ms": summary(joined("stock")),
        "fanout_latency_ms": summary(joined("fanout")),
        "frames_delivered": sum(r.get("frames", 0) for r in results),
        "frames_per_socket": round(sum(r.get("frames", 0) for r in results) / max(1, ready), 1),
        "chat_batch_frames_per_socket": round(
            sum(r.get("chat_batches", 0) for r in results) / max(1, ready), 1
        ),
        "client_errors": [e for r in results for e in r.get("errors", [])][:3],
        "client_cpu_s": round(sum(r.get("cpu_s", 0.0) for r in results), 2),
    }


def chat_driver(show_id: int, user_ids: list[int], rate: float) -> None:
    """A process of its own: post chat at `rate` messages/s until a line arrives on stdin; print the count."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.contrib.auth.models import User

    from commerce.shows.services import chat

    users = list(User.objects.filter(pk__in=user_ids).order_by("pk"))
    print(json.dumps({"ready": True}), flush=True)
    stop = threading.Event()

    def wait_for_stop() -> None:
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()
    interval, posted = 1.0 / rate, 0
    nxt = time.monotonic()
    while not stop.is_set():
        chat.post_message(show_id=show_id, user=users[posted % len(users)], text=f"chat line {posted}")
        posted += 1
        nxt += interval
        stop.wait(max(0.0, nxt - time.monotonic()))
    print(json.dumps({"posted": posted}), flush=True)
