"""Load during a chaos run: buyers purchasing over HTTP, viewers watching the drop over WebSockets.

Buyers (threads): reserve -> check out -> pay (PaymentIntent on stripe-mock) -> the signed Stripe webhook
POSTed to the web server (sometimes twice, as Stripe may; some payments fail). A request that meets a
dead web worker or a 5xx is retried with the same Idempotency-Key (bounded), as a real client would.
Viewers (one asyncio thread): N sockets on /ws/drops/<id>/ that reconnect when their ws process dies
and keep the last stock each one saw per SKU.
"""

import asyncio
import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.utils import InterfaceError, OperationalError
from websockets.asyncio.client import connect
from websockets.typing import Origin

from commerce.payments.simulator import event_for_order, post_event

SHIPPING = {"name": "Ada Lovelace", "line1": "12 St James Sq", "city": "London", "postal_code": "SW1Y 4JH",
            "country": "GB"}  # fmt: skip


@dataclass
class BuyerStats:
    purchases_started: int = 0
    paid_webhooks: int = 0
    failed_webhooks: int = 0
    duplicate_webhooks: int = 0
    sold_out: int = 0
    retries: int = 0
    gave_up: int = 0
    errors: list[str] = field(default_factory=list)


class Http:
    def __init__(self, base: str, token: str, stats: BuyerStats, stop: threading.Event) -> None:
        self.base, self.token, self.stats, self.stop = base, token, stats, stop

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, key: str | None = None,
             attempts: int = 40) -> tuple[int, Any]:  # fmt: skip
        """One request, retried on connection errors and 5xx (the web worker may be dead) for ~60 s."""
        headers = {"Content-Type": "application/json", "Authorization": f"Token {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        data = json.dumps(body or {}).encode() if method == "POST" else None
        for attempt in range(attempts):
            req = urllib.request.Request(f"{self.base}{path}", data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=20) as r:
                    return r.status, json.loads(r.read() or b"null")
            except urllib.error.HTTPError as exc:
                if exc.code < 500 and exc.code != 429:
                    return exc.code, json.loads(exc.read() or b"null")
            except (OSError, ValueError):
                pass
            self.stats.retries += 1
            time.sleep(min(0.2 * (attempt + 1), 2.0))
        self.stats.gave_up += 1
        return 599, None


def _event_for_order(kind: str, order_id: int, stop: threading.Event) -> dict[str, Any]:
    """The webhook's event (read from the database, as Stripe would know it); this thread's session
    does not outlive a PostgreSQL restart: reconnect and read again (bounded, ~2 min)."""
    for _ in range(60):
        try:
            return event_for_order(kind, order_id=order_id)
        except (OperationalError, InterfaceError):
            connection.close()
            if stop.wait(2.0):
                break
    return event_for_order(kind, order_id=order_id)


def run_buyer(*, base: str, token: str, drop_id: int, skus: list[int], physical: set[int], rng: random.Random,
              purchases: int, stats: BuyerStats, stop: threading.Event, fail_ratio: float = 0.15) -> None:  # fmt: skip
    http = Http(base, token, stats, stop)
    try:
        for _ in range(purchases):
            if stop.is_set():
                return
            sku = rng.choice(skus)
            stats.purchases_started += 1
            status, _res = http.call("POST", "/api/v1/reservations/",
                                     {"drop_id": drop_id, "sku_id": sku, "quantity": 1}, key=uuid.uuid4().hex)  # fmt: skip
            if status == 409 or status == 422 or status == 400:
                stats.sold_out += 1
                continue
            if status >= 300:
                stats.errors.append(f"reserve {status}")
                continue
            body = {"shipping_address": SHIPPING} if sku in physical else {}
            status, order = http.call("POST", "/api/v1/checkout/", body, key=uuid.uuid4().hex)
            if status >= 300 or not order:
                stats.errors.append(f"checkout {status} {order}")
                continue
            order_id = order["id"]
            status, _ = http.call("POST", f"/api/v1/orders/{order_id}/pay/", {}, key=uuid.uuid4().hex)
            if status >= 300:
                stats.errors.append(f"pay {status}")
                continue
            failed = rng.random() < fail_ratio
            kind = "payment_intent.payment_failed" if failed else "payment_intent.succeeded"
            event = _event_for_order(kind, order_id, stop)
            times = 2 if rng.random() < 0.2 else 1
            for _ in range(times):
                for attempt in range(40):
                    try:
                        code, _text = post_event(event, url=f"{base}/webhooks/stripe/", timeout=20)
                    except OSError:
                        code = 599
                    if code < 500:
                        break
                    stats.retries += 1
                    time.sleep(min(0.2 * (attempt + 1), 2.0))
            stats.duplicate_webhooks += times - 1
            if failed:
                stats.failed_webhooks += 1
            else:
                stats.paid_webhooks += 1
            time.sleep(rng.uniform(0.5, 2.0))  # think time: the drop lasts the whole fault window
    except Exception as exc:
        stats.errors.append(repr(exc))
    finally:
        connection.close()


class Viewers:
    """`count` WebSocket viewers of one drop in a background event loop; each reconnects when dropped."""

    def __init__(self, url: str, count: int) -> None:
        self.url, self.count = url, count
        self.stock: list[dict[int, int]] = [{} for _ in range(count)]
        self.frames = [0] * count
        self.stock_frames = [0] * count
        self.reconnects = [0] * count
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True, name="viewers")

    def start(self) -> "Viewers":
        self.thread.start()
        return self

    async def _main(self) -> None:
        await asyncio.gather(*(self._viewer(i) for i in range(self.count)))

    async def _viewer(self, i: int) -> None:
        first = True
        while not self.stop.is_set():
            if not first:
                self.reconnects[i] += 1
            first = False
            try:
                async with connect(self.url, origin=Origin("http://127.0.0.1"), compression=None,
                                   open_timeout=20, max_queue=None) as ws:  # fmt: skip
                    while not self.stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), timeout=1.0)
                        except TimeoutError:
                            continue
                        frame = json.loads(raw)
                        self.frames[i] += 1
                        if frame.get("type") in ("snapshot", "stock"):
                            self.stock_frames[i] += 1
                            for sku in frame.get("skus", []):
                                self.stock[i][int(sku["sku_id"])] = int(sku["available"])
            except Exception:
                await asyncio.sleep(0.5)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
