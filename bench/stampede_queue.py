"""The `--queue on|off --bots F` phase of bench/drop_stampede.py: honest buyers and queue-ignoring bots.

Honest buyers arrive spread over `--arrival-window` seconds after the drop's start (in a random
order, each at its own moment). With `--queue on` each joins the waiting room, polls its place
(at most every 0.3 s, less often the further back it is; the browser gets `queue` frames over the
drop socket instead) and reserves with its admission token once admitted; with `--queue off` each
POSTs one reservation on arrival. Bots ignore the queue: from t=0 each hammers POST /reservations/
(no token) back to back until it holds a unit or the drop is sold out, from `--bot-ips` source
addresses (client sockets bound to 127.0.0.2, .3, ... -- the server trusts no X-Forwarded-For).

Figures (besides drop_stampede's): `bot_unit_share` (units held by bots / units reserved),
`bot_buyer_share` (bots / all buyers), `admission_kendall_tau` (Kendall tau between the honest
buyers' arrival order -- the moment each sent its first request -- and the order they got in:
admission order with the queue, reservation order without), `honest_buyers_served`.
"""

import asyncio
import json
import multiprocessing
import random
import statistics
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

Buyer = tuple[int, str]  # (user id, API token)


def kendall_tau(ranks: Sequence[int]) -> float:
    """Kendall tau between positions 0..n-1 and `ranks` (distinct values), by counting inversions."""
    n = len(ranks)
    if n < 2:
        return 1.0

    def sort_count(xs: list[int]) -> tuple[list[int], int]:
        if len(xs) <= 1:
            return xs, 0
        mid = len(xs) // 2
        left, a = sort_count(xs[:mid])
        right, b = sort_count(xs[mid:])
        merged, inv, i, j = [], a + b, 0, 0
        while i < len(left) and j < len(right):
            if left[i] <= right[j]:
                merged.append(left[i])
                i += 1
            else:
                merged.append(right[j])
                inv += len(left) - i
                j += 1
        merged += left[i:] + right[j:]
        return merged, inv

    _, inversions = sort_count(list(ranks))
    pairs = n * (n - 1) // 2
    return 1.0 - 2.0 * inversions / pairs


async def _request(
    session: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, Any, float]:
    t0 = time.perf_counter()
    try:
        async with session.request(method, url, headers=headers, data=body) as r:
            payload = await r.read()
            status = r.status
        data = json.loads(payload) if payload else None
    except (aiohttp.ClientError, TimeoutError, ValueError):
        status, data = 0, None
    return status, data, time.perf_counter() - t0


def _code(status: int, data: Any) -> str:
    if status >= 400 and isinstance(data, dict):
        return f"{status}:{data.get('error', {}).get('code', '?')}"
    return str(status)


async def _run_client(part: dict[str, Any]) -> dict[str, Any]:
    base, drop_id, sku_id, queue = part["base"], part["drop_id"], part["sku_id"], part["queue"]
    reserve_url = f"{base}/api/v1/reservations/"
    queue_url = f"{base}/api/v1/drops/{drop_id}/queue/"
    body = json.dumps({"drop_id": drop_id, "sku_id": sku_id, "quantity": 1}).encode()
    deadline = time.time() + part["timeout"]
    reserve_latencies: list[float] = []
    statuses: dict[str, int] = {}
    arrivals: dict[int, float] = {}
    got_in: dict[int, float] = {}  # reservation time (queue off) -- admission order comes from Redis
    honest_done = asyncio.Event()
    sold_out = asyncio.Event()
    gate = asyncio.Semaphore(part["concurrency"])
    timeout = aiohttp.ClientTimeout(total=30)

    def count(status: int, data: Any) -> str:
        code = _code(status, data)
        statuses[code] = statuses.get(code, 0) + 1
        if code == "409:sold_out":
            sold_out.set()
        return code

    async def reserve(session: aiohttp.ClientSession, token: str, admission: str | None) -> str:
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        if admission:
            headers["Admission-Token"] = admission
        async with gate:
            status, data, elapsed = await _request(session, "POST", reserve_url, headers, body)
        reserve_latencies.append(elapsed)
        return count(status, data)

    async def honest(session: aiohttp.ClientSession, buyer: Buyer, at: float) -> None:
        uid, token = buyer
        await asyncio.sleep(max(0.0, at - time.time()))
        arrivals[uid] = time.time()
        auth = {"Authorization": f"Token {token}"}
        if not queue:
            if await reserve(session, token, None) == "201":
                got_in[uid] = time.time()
            return
        async with gate:
            status, data, _ = await _request(session, "POST", queue_url, auth)
        while time.time() < deadline and not sold_out.is_set():
            if status == 200 and data.get("status") == "admitted":
                code = await reserve(session, token, data["admission_token"])
                if code == "201":
                    got_in[uid] = time.time()
                return
            if status == 200 and data.get("drop_state") in ("sold_out", "ended"):
                return
            if status == 200 and data.get("status") == "none":  # admission expired: back of the line
                async with gate:
                    status, data, _ = await _request(session, "POST", queue_url, auth)
                continue
            eta = (data or {}).get("eta_seconds") or 1
            await asyncio.sleep(min(5.0, max(0.3, eta / 2)))
            async with gate:
                status, data, _ = await _request(session, "GET", queue_url, auth)

    async def bot(session: aiohttp.ClientSession, buyer: Buyer) -> None:
        while time.time() < deadline and not honest_done.is_set() and not sold_out.is_set():
            code = await reserve(session, buyer[1], None)
            if code in ("201", "409:limit_exceeded"):
                return

    connector = aiohttp.TCPConnector(limit=part["concurrency"])
    bot_sessions = [
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=8, local_addr=(f"127.0.0.{2 + i}", 0)), timeout=timeout
        )
        for i in range(part["bot_ips"])
    ]
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.time()
        window = part["arrival_window"]
        honest_tasks = [
            asyncio.create_task(honest(session, b, part["t0"] + at))
            for b, at in zip(part["honest"], part["at"], strict=True)
        ]
        bot_tasks = [
            asyncio.create_task(bot(bot_sessions[i % len(bot_sessions)], b)) for i, b in enumerate(part["bots"])
        ] if bot_sessions else []  # fmt: skip
        await asyncio.wait_for(asyncio.gather(*honest_tasks), part["timeout"] + window + 30)
        honest_done.set()
        await asyncio.wait_for(asyncio.gather(*bot_tasks), 60)
        end = time.time()
    for s in bot_sessions:
        await s.close()
    return {
        "start": start, "end": end, "latencies": reserve_latencies, "statuses": statuses,
        "arrivals": arrivals, "got_in": got_in,
    }  # fmt: skip


def _client_process(part: dict[str, Any]) -> dict[str, Any]:
    part["barrier"].wait(timeout=60)
    part = {**part, "t0": time.time() + 0.5}
    del part["barrier"]
    return asyncio.run(_run_client(part))


def run(
    *,
    base: str,
    drop_id: int,
    sku_id: int,
    honest: list[Buyer],
    bots: list[Buyer],
    queue: bool,
    clients: int,
    concurrency: int,
    arrival_window: float,
    bot_ips: int,
    timeout: float,
    seed: int,
) -> dict[str, Any]:
    """Run the phase from `clients` processes; returns the merged raw figures."""
    rng = random.Random(seed)
    at = [rng.uniform(0, arrival_window) for _ in honest]
    ctx = multiprocessing.get_context("fork")
    clients = max(1, clients)
    barrier = ctx.Manager().Barrier(clients)
    parts = [
        {
            "base": base,
            "drop_id": drop_id,
            "sku_id": sku_id,
            "queue": queue,
            "honest": honest[i::clients],
            "at": at[i::clients],
            "bots": bots[i::clients],
            "concurrency": max(1, concurrency // clients),
            "arrival_window": arrival_window,
            "bot_ips": bot_ips if bots else 0,
            "timeout": timeout,
            "barrier": barrier,
        }
        for i in range(clients)
    ]
    with ctx.Pool(clients) as pool:
        results = pool.map(_client_process, parts)
    latencies = sorted(x for r in results for x in r["latencies"])
    statuses: dict[str, int] = {}
    for r in results:
        for code, n in r["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    elapsed = max(r["end"] for r in results) - min(r["start"] for r in results)
    arrivals = {uid: t for r in results for uid, t in r["arrivals"].items()}
    got_in = {uid: t for r in results for uid, t in r["got_in"].items()}
    return {
        "requests": len(latencies),
        "elapsed_s": round(elapsed, 3),
        "req_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2)
        if latencies
        else None,
        "statuses": statuses,
        "arrivals": arrivals,
        "got_in": got_in,
    }


def arrival_tau(arrivals: dict[int, float], order: list[int]) -> float | None:
    """Kendall tau of `order` (who got in, first to last) against arrival time, honest buyers only."""
    served = [uid for uid in order if uid in arrivals]
    if len(served) < 2:
        return None
    by_arrival = {uid: rank for rank, uid in enumerate(sorted(served, key=lambda u: arrivals[u]))}
    return round(kendall_tau([by_arrival[uid] for uid in served]), 4)
