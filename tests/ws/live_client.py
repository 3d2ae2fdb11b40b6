"""A real WebSocket client for the live tests and the benchmark: collects every frame it receives."""

import asyncio
import json
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

ORIGIN = Origin("http://127.0.0.1")


class LiveClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.frames: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.ws: ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None
        self.close_code: int | None = None

    async def open(self) -> "LiveClient":
        self.ws = await connect(self.url, origin=ORIGIN, compression=None, open_timeout=30, max_queue=None)
        self.task = asyncio.ensure_future(self._read())
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                self.arrivals.append(time.time())
                self.frames.append(json.loads(raw))
        except Exception:  # connection closed: the test looks at close_code
            pass
        self.close_code = self.ws.close_code

    async def send(self, doc: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps(doc))

    async def wait_for(self, predicate: Any, timeout: float = 30.0) -> dict[str, Any]:
        """The first frame (seen so far or arriving) matching `predicate`; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.frames:
                if predicate(frame):
                    return frame
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching frame within {timeout}s; got {self.frames[-5:]}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            await self.task

    def seqs(self) -> list[int]:
        return [f["seq"] for f in self.frames if f["type"] not in ("error", "pong")]

    def stock(self) -> dict[int, int]:
        """Available units per SKU as this client sees it (snapshot then deltas, by seq)."""
        view: dict[int, int] = {}
        for frame in self.frames:
            if frame["type"] in ("snapshot", "stock"):
                for sku in frame["skus"]:
                    view[sku["sku_id"]] = sku["available"]
        return view
