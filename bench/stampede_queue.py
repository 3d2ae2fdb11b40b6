"""The `--queue on|off --bots F` phase of bench/drop_stampede.py: honest buyers and queue-ignoring bots.

Honest buyers arrive spread over `--arrival-window` seconds after the drop's start (in a random
order, each at its own moment), each from one of `--honest-ips` source addresses (127.1.0.1, ...:
all of 127/8 is loopback on Linux). With `--queue on` each joins the waiting room, polls its place
(every 0.5-10 s, half its estimated wait; the browser gets `queue` frames over the drop socket
instead), reserves with its admission token once admitted, and stops when the drop is sold out;
with `--queue off` each POSTs one reservation on arrival (a 429 is retried after 1 s, 3 tries, as
a person would). Bots ignore the queue: from t=0 each hammers POST /reservations/ (no token) back
to back until it holds a unit or the drop is sold out, from `--bot-ips` source addresses (127.0.0.2,
.3, ...; the server trusts no X-Forwarded-For), on their own connections (half the client's).
Every phase is bounded: what is still running at the deadline is cancelled and counted
(`unfinished_honest`), never waited for.

Figures (besides drop_stampede's): `bot_unit_share` (units held by bots / units reserved),
`bot_buyer_share` (bots / all buyers), `admission_kendall_tau`, `honest_buyers_served`. The tau
with the queue compares admission order (the admitter's Redis log) with the server's arrival order,
the ticket each buyer's first join was given by the join script; without the queue, reservation
order with the moment each buyer's request left the client. `admission_kendall_tau_client_send`
(admission vs client send time) is printed beside it: requests sent within a few ms of each other
reach the server's threads in another order, which that figure counts against the queue.
"""

import asyncio
import json
import multiprocessing
import os
import random
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
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


def honest_address(i: int) -> str:
    """The i-th honest buyer's source address: 127.1.0.1, 127.1.0.2, ... (all of 127/8 is loopback)."""
    return f"127.{1 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}"


async def _run_client(part: dict[str, Any]) -> dict[str, Any]:
    base, drop_id, sku_id, queue = part["base"], part["drop_id"], part["sku_id"], part["queue"]
    reserve_url = f"{base}/api/v1/reservations/"
    queue_url = f"{base}/api/v1/drops/{drop_id}/queue/"
    body = json.dumps({"drop_id": drop_id, "sku_id": sku_id, "quantity": 1}).encode()
    deadline = time.time() + part["timeout"]
    reserve_latencies: list[float] = []
    statuses: dict[str, int] = {}
    queue_statuses: dict[str, int] = {}  # the honest buyers' joins and polls (status: queue state or code)
    arrivals: dict[int, float] = {}  # when the buyer's first request left the client (after the gate)
    tickets: dict[int, int] = {}  # the ticket the server gave the buyer's first join (queue on)
    entries: dict[int, int] = {}  # when the first join entered the server (µs, its WSGI entry; queue on)
    got_in: dict[int, float] = {}  # reservation time (queue off) -- admission order comes from Redis
    polls = 0
    honest_done = asyncio.Event()
    sold_out = asyncio.Event()
    # Honest buyers and bots have their own connections (half of the client's concurrency each when
    # there are bots): a bot's requests compete with honest ones at the server, not inside the
    # load generator's queue.
    bot_share = part["concurrency"] // 2 if part["bots"] else 0
    gate = asyncio.Semaphore(max(1, part["concurrency"] - bot_share))
    # An admitted buyer's reserve has connections of its own: a person clicks "buy" at once, not
    # behind thousands of other people's joins and polls queued in this load generator (with one
    # shared pool at 10,000 buyers, admitted buyers waited > the 60 s admission TTL for a slot:
    # 2,010 "admitted" answers, 11 reserve attempts, 0 units sold).
    buy_gate = asyncio.Semaphore(max(1, part["concurrency"] - bot_share))
    bot_gate = asyncio.Semaphore(max(1, bot_share))
    timeout = aiohttp.ClientTimeout(total=30)

    def count(status: int, data: Any) -> str:
        code = _code(status, data)
        statuses[code] = statuses.get(code, 0) + 1
        if code in ("409:sold_out", "409:drop_not_live"):
            sold_out.set()
        return code

    async def reserve(
        session: aiohttp.ClientSession,
        token: str,
        admission: str | None,
        uid: int | None = None,
        slots: asyncio.Semaphore = gate,
    ) -> str:
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        if admission:
            headers["Admission-Token"] = admission
        async with slots:
            if uid is not None and uid not in arrivals:
                arrivals[uid] = time.time()
            status, data, elapsed = await _request(session, "POST", reserve_url, headers, body)
        reserve_latencies.append(elapsed)
        return count(status, data)

    def seen(status: int, data: Any) -> None:
        what = (
            f"{status}:{data.get('status')}"
            if status == 200 and isinstance(data, dict)
            else _code(status, data)
        )
        queue_statuses[what] = queue_statuses.get(what, 0) + 1

    async def honest(session: aiohttp.ClientSession, buyer: Buyer, at: float) -> None:
        nonlocal polls
        uid, token = buyer
        await asyncio.sleep(max(0.0, at - time.time()))
        auth = {"Authorization": f"Token {token}"}
        if not queue:
            # A person's browser honours Retry-After a few times; a script would not stop.
            for _ in range(3):
                code = await reserve(session, token, None, uid)
                if code == "201":
                    got_in[uid] = time.time()
                if not code.startswith("429") or sold_out.is_set() or time.time() > deadline:
                    return
                await asyncio.sleep(1.0)
            return
        async with gate:
            arrivals[uid] = time.time()
            status, data, _ = await _request(session, "POST", queue_url, auth)
        seen(status, data)
        if status == 200 and data.get("ticket"):
            tickets[uid] = int(data["ticket"])
        if status == 200 and data.get("arrived_at_us"):
            entries[uid] = int(data["arrived_at_us"])
        while time.time() < deadline and not sold_out.is_set():
            if status == 200 and data.get("drop_state") in ("sold_out", "ended"):
                return
            if status == 200 and data.get("status") == "admitted":
                code = await reserve(session, token, data["admission_token"], slots=buy_gate)
                if code == "201":
                    got_in[uid] = time.time()
                if not code.startswith(("429", "503")):
                    return  # reserved, or refused for good (sold out, limit)
            elif status == 200 and data.get("status") == "none":  # admission expired: back of the line
                async with gate:
                    status, data, _ = await _request(session, "POST", queue_url, auth)
                seen(status, data)
                continue
            elif status not in (200, 0, 429, 503):
                return  # 4xx: the room is gone or the drop is over; a person would give up too
            # Polls: half the estimated wait, between 0.5 and 10 s (the browser gets pushed frames).
            eta = (data or {}).get("eta_seconds") or 1
            await asyncio.sleep(min(10.0, max(0.5, eta / 2)))
            if sold_out.is_set():
                return
            async with gate:
                polls += 1
                status, data, _ = await _request(session, "GET", queue_url, auth)
            seen(status, data)

    async def bot(session: aiohttp.ClientSession, buyer: Buyer) -> None:
        while time.time() < deadline and not honest_done.is_set() and not sold_out.is_set():
            code = await reserve(session, buyer[1], None, slots=bot_gate)
            if code in ("201", "409:limit_exceeded"):
                return

    # Honest buyers come from many addresses (a session, hence a source address, per address);
    # the bots from `bot_ips` addresses: per-IP throttles see what they would in production.
    honest_sessions: dict[str, aiohttp.ClientSession] = {}

    def honest_session(i: int) -> aiohttp.ClientSession:
        address = honest_address(i % part["honest_ips"])
        if address not in honest_sessions:
            honest_sessions[address] = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=4, local_addr=(address, 0)), timeout=timeout
            )
        return honest_sessions[address]

    bot_sessions = [
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(1, bot_share), local_addr=(f"127.0.0.{2 + i}", 0)),
            timeout=timeout,
        )
        for i in range(part["bot_ips"])
    ]
    start = time.time()
    window = part["arrival_window"]
    honest_tasks = [
        asyncio.create_task(honest(honest_session(i), b, part["t0"] + at))
        for i, b, at in zip(part["honest_index"], part["honest"], part["at"], strict=True)
    ]
    bot_tasks = [
        asyncio.create_task(bot(bot_sessions[i % len(bot_sessions)], b)) for i, b in enumerate(part["bots"])
    ] if bot_sessions else []  # fmt: skip
    # Bounded: whatever has not finished by the deadline is cancelled and counted, never waited for.
    _, unfinished = await asyncio.wait(honest_tasks, timeout=part["timeout"] + window + 15)
    for task in unfinished:
        task.cancel()
    honest_done.set()
    _, bots_unfinished = await asyncio.wait(bot_tasks, timeout=30) if bot_tasks else (set(), set())
    for task in bots_unfinished:
        task.cancel()
    await asyncio.gather(*unfinished, *bots_unfinished, return_exceptions=True)
    end = time.time()
    for s in [*bot_sessions, *honest_sessions.values()]:
        await s.close()
    return {
        "start": start, "end": end, "latencies": reserve_latencies, "statuses": statuses,
        "arrivals": arrivals, "tickets": tickets, "entries": entries, "got_in": got_in, "polls": polls,
        "queue_statuses": queue_statuses,
        "unfinished_honest": len(unfinished), "unfinished_bots": len(bots_unfinished),
        "honest_addresses": len(honest_sessions),
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
    honest_ips: int,
    timeout: float,
    seed: int,
) -> dict[str, Any]:
    """Run the phase from `clients` processes; returns the merged raw figures."""
    if phase_file := os.environ.get("BENCH_PHASE_FILE"):
        # For a profiler started beside the bench: only this phase, not the baseline.
        Path(phase_file).write_text("stampede\n")
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
            "honest_index": list(range(i, len(honest), clients)),
            "honest_ips": max(1, honest_ips),
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
    queue_statuses: dict[str, int] = {}
    for r in results:
        for code, n in r["queue_statuses"].items():
            queue_statuses[code] = queue_statuses.get(code, 0) + n
    elapsed = max(r["end"] for r in results) - min(r["start"] for r in results)
    arrivals = {uid: t for r in results for uid, t in r["arrivals"].items()}
    tickets = {uid: t for r in results for uid, t in r["tickets"].items()}
    entries = {uid: t for r in results for uid, t in r["entries"].items()}
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
        "queue_statuses": queue_statuses,
        "arrivals": arrivals,
        "tickets": tickets,
        "entries": entries,
        "got_in": got_in,
        "polls": sum(r["polls"] for r in results),
        "unfinished_honest": sum(r["unfinished_honest"] for r in results),
        "unfinished_bots": sum(r["unfinished_bots"] for r in results),
        "honest_addresses": sum(r["honest_addresses"] for r in results),
    }


def arrival_tau(arrivals: dict[int, float], order: list[int]) -> float | None:
    """Kendall tau of `order` (who got in, first to last) against `arrivals` (time or ticket), honest only."""
    served = [uid for uid in order if uid in arrivals]
    if len(served) < 2:
        return None
    by_arrival = {uid: rank for rank, uid in enumerate(sorted(served, key=lambda u: arrivals[u]))}
    return round(kendall_tau([by_arrival[uid] for uid in served]), 4)
