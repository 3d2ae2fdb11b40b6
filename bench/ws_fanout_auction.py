"""Auction mode of bench/ws_fanout.py: N watchers on one show's auction while bids land at a steady rate.

    .venv/bin/python bench/ws_fanout.py --mode auction --sockets 5000 --bid-rate 50 --bid-seconds 20

Watchers are anonymous sockets on /ws/shows/<id>/ (the Go pool, bench/wsclient `auction`, or with
`--client-impl python` the asyncio pool; a socket closed as too slow, 4408, reconnects and takes a
fresh snapshot, as a viewer's page does). The ws server is `--ws-processes` copies of
`python -m realtime.ws.serve` on one port. Once all have their snapshot a driver process places bids through the bidding
service (lock, rows, outbox, push on commit) at `--bid-rate` per second, each at the next increment,
noting when it sent each bid; the auction ends by server time (sudden death) and is closed.
Printed: bid-to-every-watcher latency (for each bid and watcher: from sending the bid to the first
frame on that watcher that includes it; p50/p99/max over all pairs), the share of watchers that saw
the final price in the closed state, frames per socket, server CPU per delivered frame, and the raw
`websockets` broadcast floor (same client processes, frames of a similar size, 10/s) of the same run.
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

HERE = Path(__file__).resolve()
BUCKET_MS = 1  # latency histogram resolution


async def _watcher(url: str, out: dict[str, Any], sem: asyncio.Semaphore, deadline: float) -> None:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    async with sem:
        ws = await connect(url, origin=Origin("http://127.0.0.1"), compression=None, open_timeout=120,
                           max_queue=None, ping_interval=None)  # fmt: skip
    async with ws:
        out["connected"] += 1
        seen = 0  # bids included in what this watcher has seen
        arrivals: list[tuple[int, float]] = []
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=max(0.05, deadline - time.monotonic()))
            except TimeoutError:
                break
            now = time.time()
            doc = json.loads(raw)
            kind = doc.get("type")
            out["frames"] += 1
            if kind == "stock":  # the raw floor's frames
                out["raw"].append(now - datetime.fromisoformat(doc["at"]).timestamp())
                if doc["sold_out"]:
                    out["final"] += 1
                    break
                continue
            auction = doc.get("auction") if kind in ("auction", "snapshot") else None
            if not auction:
                continue
            if auction["bids"] > seen:
                seen = auction["bids"]
                arrivals.append((seen, now))
            if auction["state"] != "open":
                out["closed"].append(auction["current_bid"])
                break
        if arrivals:
            _fold(arrivals, _sent_times(out["sent_log"]), out["hist"])


def _client_main(url: str, count: int, timeout: float, sent_log: str) -> None:
    """A client subprocess: run the watchers (each folds its arrivals into `out["hist"]` when done)."""
    from ws_clients import run_client_pool

    out: dict[str, Any] = {"connected": 0, "final": 0, "frames": 0, "raw": [], "closed": [], "hist": {},
                           "sent_log": sent_log}  # fmt: skip
    asyncio.run(run_client_pool(_watcher, url, out, count, timeout))


_sent: dict[str, dict[int, float]] = {}


def _sent_times(sent_log: str) -> dict[int, float]:
    """When the driver sent each bid (by seq): written before the close, read once per process."""
    if sent_log not in _sent:
        path = Path(sent_log)
        if not path.exists():
            return {}
        _sent[sent_log] = {int(k): v for k, v in json.loads(path.read_text()).items()}
    return _sent[sent_log]


def _fold(arrivals: list[tuple[int, float]], sent: dict[int, float], hist: dict[str, int]) -> None:
    """Add to `hist` {latency bucket ms: pairs}: for each bid, this watcher's first arrival including it."""
    low = 0
    for seen, at in arrivals:
        for seq in range(low + 1, seen + 1):
            if seq in sent:
                bucket = str(max(0, int((at - sent[seq]) * 1000 / BUCKET_MS)))
                hist[bucket] = hist.get(bucket, 0) + 1
        low = max(low, seen)


def _hist_pct(hist: dict[str, int], q: float) -> float | None:
    total = sum(hist.values())
    if not total:
        return None
    target, acc = q * total, 0
    for bucket in sorted(hist, key=int):
        acc += hist[bucket]
        if acc >= target:
            return float(int(bucket) * BUCKET_MS)
    return None


def _driver(
    auction_id: int,
    user_ids: list[int],
    rate: float,
    seconds: float,
    sent_log: str,
    threads: int,
    part: str,
    rebids: int,
) -> None:
    """One bidding process (as a web process would be): bids at `rate`/s for `seconds` in all.

    `part` is "i/n": this process takes bids k = i, i + n, i + 2n, ... of one schedule shared by
    all n processes (bid k is due at k / rate), each with `threads` threads: one bid's round trip
    through the service (lock, rows, outbox, push) takes longer than 1 / rate on a busy box, and
    threads of one process would hold the auction's row lock while waiting for the GIL, so bids
    come from several processes as they do from several web processes. Bid k asks the k-th rung
    of the increment ladder; one overtaken on the way to the row lock is refused as too low
    (counted) and, with `rebids` > 0, bids again at the minimum the refusal names, up to that many
    times, as a bidder's page may (the default, 0, keeps attempts at exactly `rate`). A bid's latency counts from the attempt that was accepted. Writes
    {seq: sent at} to `sent_log`; the parent merges the parts and closes the auction.
    """
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection

    from commerce.auctions.errors import BidTooLow
    from commerce.auctions.increments import next_bid
    from commerce.auctions.models import Auction
    from commerce.auctions.services.bidding import place_bid

    index, parts = (int(x) for x in part.split("/"))
    users = list(User.objects.filter(pk__in=user_ids).order_by("pk"))
    auction = Auction.objects.get(pk=auction_id)
    rungs = [
        next_bid(table=auction.increments, starting_price=auction.starting_price, current=auction.current_bid)
    ]
    while len(rungs) < int(seconds * rate) + 1:
        rungs.append(
            next_bid(table=auction.increments, starting_price=auction.starting_price, current=rungs[-1])
        )
    connection.close()
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()  # go
    sent: dict[int, float] = {}
    lock = threading.Lock()
    mine = iter(range(index, len(rungs), parts))
    refusals: dict[str, int] = {}
    took: list[float] = []  # seconds each accepted place_bid call took (check, lock wait, commit, push)
    interval, t0 = 1.0 / rate, time.monotonic()

    def bidder() -> None:
        try:
            while True:
                with lock:
                    k = next(mine, None)
                if k is None or k * interval >= seconds:
                    return
                amount = rungs[k]
                time.sleep(max(0.0, t0 + k * interval - time.monotonic()))
                for _attempt in range(rebids + 1):
                    at = time.time()
                    try:
                        done = place_bid(auction_id=auction_id, user=users[k % len(users)], amount=amount)
                    except BidTooLow as exc:
                        amount = int(exc.details["next_bid"])
                        with lock:
                            refusals["BidTooLow"] = refusals.get("BidTooLow", 0) + 1
                        continue
                    except Exception as exc:
                        with lock:
                            refusals[type(exc).__name__] = refusals.get(type(exc).__name__, 0) + 1
                        break
                    with lock:
                        took.append(time.time() - at)
                        for b in done.bids:
                            sent[b.seq] = at
                    break
        finally:
            connection.close()

    pool = [threading.Thread(target=bidder) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    Path(sent_log).write_text(json.dumps(sent))
    elapsed = time.monotonic() - t0
    print(
        json.dumps({"bids": len(sent), "refusals": refusals, "elapsed_s": elapsed, "took": took}), flush=True
    )


def _close(
    auction_id: int, sent_log: str, parts: list[dict[str, Any]], threads: int, rate: float
) -> dict[str, Any]:
    """Merge the drivers' sent logs (read by the clients once they see the close), then end the
    auction by server time (sudden death) and close it, as the worker's eta task does."""
    from django.utils import timezone
    from ws_clients import pct

    from commerce.auctions.models import Auction
    from commerce.auctions.services.closing import close_auction

    sent: dict[str, float] = {}
    for i in range(len(parts)):
        sent.update(json.loads(Path(f"{sent_log}.{i}").read_text()))
    Path(sent_log).write_text(json.dumps(sent))
    Auction.objects.filter(pk=auction_id).update(ends_at=timezone.now())
    while (closed := close_auction(auction_id=auction_id)).state == "open":
        time.sleep(0.01)
    refusals: dict[str, int] = {}
    for part in parts:
        for name, n in part.get("refusals", {}).items():
            refusals[name] = refusals.get(name, 0) + n
    elapsed = max((part.get("elapsed_s", 0.0) for part in parts), default=0.0) or 1.0
    took = [x for part in parts for x in part.get("took", [])]
    return {"bids": len(sent), "refused": sum(refusals.values()), "refusals": refusals,
            "final_price": closed.current_bid, "processes": len(parts), "threads_per_process": threads,
            "scheduled_per_s": rate, "rate_per_s": round(len(sent) / elapsed, 1),
            "accepted_bid_call_ms": {"p50": pct(took, 0.5), "p99": pct(took, 0.99), "max": pct(took, 1.0)},
            "attempted_per_s": round((len(sent) + sum(refusals.values())) / elapsed, 1)}  # fmt: skip


def _pools(
    url: str, sockets: int, workers: int, timeout: float, sent_log: str, impl: str, *, mintdrop: bool
) -> list[subprocess.Popen[str]]:
    if impl == "go":
        from ws_clients import start_client_pools

        return start_client_pools("auction", url, sockets, workers, timeout, "go", ready_on_snapshot=mintdrop,
                                  env={"WSCLIENT_SENT_LOG": sent_log})  # fmt: skip
    per = [sockets // workers + (1 if i < sockets % workers else 0) for i in range(workers)]
    return [
        subprocess.Popen(
            [sys.executable, str(HERE), "--auction-client", url, str(n), str(timeout), sent_log],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in per
    ]


def _gather(procs: list[subprocess.Popen[str]], start: Any) -> tuple[int, float, list[dict[str, Any]]]:
    t0 = time.monotonic()
    ready = sum(json.loads(p.stdout.readline() or '{"ready": 0}')["ready"] for p in procs)  # type: ignore[union-attr]
    connect_s = time.monotonic() - t0
    start()
    results = [json.loads(p.stdout.readline() or "{}") for p in procs]  # type: ignore[union-attr]
    for p in procs:
        p.wait(30)
    return ready, connect_s, results


def add_arguments(parser: Any) -> None:
    parser.add_argument("--bid-rate", type=float, default=50.0, help="auction mode: bids per second")
    parser.add_argument("--bid-seconds", type=float, default=20.0, help="auction mode: how long bids come")
    parser.add_argument("--bid-threads", type=int, default=2, help="auction mode: threads per driver process")
    parser.add_argument(
        "--bid-procs", type=int, default=4, help="auction mode: driver processes sharing the schedule"
    )
    parser.add_argument(
        "--rebids",
        type=int,
        default=0,
        help="auction mode: re-bids at the named minimum after a too-low refusal",
    )


def run(args: Any) -> dict[str, Any]:
    """The whole auction-mode run (called by bench/ws_fanout.py main); returns the report."""
    import resource

    from ws_clients import pct
    from ws_fanout import cpu_seconds, free_port, per_frame_us, setup_database, start_ws_processes, total_cpu

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    prefix = f"bench.{uuid.uuid4().hex[:8]}."
    env = {**os.environ, "KAFKA_TOPIC_PREFIX": prefix, "LOG_LEVEL": "WARNING", "DJANGO_DEBUG": "false",
           "ABUSE_THROTTLE_ENABLED": "0"}  # fmt: skip
    setup_database(env)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "KAFKA_TOPIC_PREFIX", "DJANGO_DEBUG")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.utils import timezone

    from commerce.auctions.models import Ending
    from commerce.auctions.services import setup
    from commerce.services import catalog
    from commerce.shows.services import lifecycle, pins

    tag = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(username=f"bench-host-{tag}")
    merchant = catalog.create_merchant(name="Bench auction", slug=f"bench-auction-{tag}", owner=owner)
    product = catalog.create_product(merchant_id=merchant.pk, kind="physical", title="Bench guitar",
                                     skus=[catalog.SkuSpec(code="G", price=100)])  # fmt: skip
    show = lifecycle.create_show(merchant_id=merchant.pk, title="Bench auction", playback_url="/x.m3u8",
                                 scheduled_at=timezone.now())  # fmt: skip
    lifecycle.go_live(show_id=show.pk, merchant_id=merchant.pk)
    pins.pin_product(show_id=show.pk, merchant_id=merchant.pk, product_id=product.pk)
    bidders = [User.objects.create_user(username=f"bench-bid-{tag}-{i}").pk for i in range(40)]
    auction = setup.create_auction(show_id=show.pk, merchant_id=merchant.pk, spec=setup.AuctionSpec(
        starting_price=100, duration_seconds=3600, ending=Ending.SUDDEN_DEATH, increments=[[0, 100]]))  # fmt: skip
    sent_log = str(Path(ROOT_LOCAL()) / f"bench_auction_sent_{tag}.json")
    report: dict[str, Any] = {"mode": "auction", "sockets": args.sockets, "bid_rate": args.bid_rate,
                              "bid_seconds": args.bid_seconds, "client_workers": args.client_workers,
                              "client_impl": args.client_impl, "ws_processes": args.ws_processes,
                              "load_average_start": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    children: list[subprocess.Popen[Any]] = []
    try:
        raw_port = free_port()
        raw = subprocess.Popen([sys.executable, str(HERE.with_name("ws_fanout.py")), "--raw", str(raw_port),
                                str(args.sockets), str(args.raw_frames)])  # fmt: skip
        children.append(raw)
        time.sleep(1.0)
        raw_cpu: dict[str, float] = {}
        ready, connect_s, results = _gather(
            _pools(f"ws://127.0.0.1:{raw_port}/", args.sockets, args.client_workers, args.timeout, sent_log,
                   args.client_impl, mintdrop=False),
            lambda: raw_cpu.setdefault("t0", cpu_seconds(raw.pid)),
        )  # fmt: skip
        raw_lat = [x for r in results for x in r.get("raw", [])]
        raw_frames = sum(r.get("frames", 0) for r in results)
        raw_server_cpu = round(cpu_seconds(raw.pid) - raw_cpu["t0"], 2)
        report["raw_websockets"] = {"connected": ready, "final_delivery_ratio": round(sum(r.get("final", 0) for r in results) / args.sockets, 4),
                                    "latency_ms": {"p50": pct(raw_lat, 0.5), "p99": pct(raw_lat, 0.99), "max": pct(raw_lat, 1.0)},
                                    "frames_delivered": raw_frames, "server_cpu_s": raw_server_cpu,
                                    "server_cpu_per_frame_us": per_frame_us(raw_server_cpu, raw_frames),
                                    "client_cpu_s": round(sum(r.get("cpu_s", 0.0) for r in results), 2)}  # fmt: skip
        raw.kill()

        port = free_port()
        logs = open(Path(ROOT_LOCAL()) / "bench_ws.log", "ab")  # noqa: SIM115
        ws = start_ws_processes(args.ws_processes, port, env, logs, args.server_profile)
        children.extend(ws)
        drivers = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(HERE),
                    "--driver",
                    str(auction.pk),
                    ",".join(map(str, bidders)),
                    str(args.bid_rate),
                    str(args.bid_seconds),
                    f"{sent_log}.{i}",
                    str(args.bid_threads),
                    f"{i}/{args.bid_procs}",
                    str(args.rebids),
                ],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(args.bid_procs)
        ]
        children.extend(drivers)
        for d in drivers:
            assert d.stdout is not None
            d.stdout.readline()
        marks: dict[str, float] = {}
        closing: dict[str, Any] = {}

        def close_when_drivers_end() -> None:  # the watchers end on the closed state
            from django.db import connection

            parts = [json.loads(d.stdout.readline() or "{}") for d in drivers]  # type: ignore[union-attr]
            try:
                closing.update(_close(auction.pk, sent_log, parts, args.bid_threads, args.bid_rate))
            finally:
                connection.close()

        closer = threading.Thread(target=close_when_drivers_end)

        def go() -> None:  # every watcher has its snapshot: count the server's CPU from here
            marks["cpu"], marks["t0"] = total_cpu(ws), time.monotonic()
            for d in drivers:
                assert d.stdin is not None
                d.stdin.write("go\n")
                d.stdin.flush()
            closer.start()

        url = f"ws://127.0.0.1:{port}/ws/shows/{show.pk}/"
        ready, connect_s, results = _gather(
            _pools(
                url,
                args.sockets,
                args.client_workers,
                args.timeout,
                sent_log,
                args.client_impl,
                mintdrop=True,
            ),
            go,
        )
        closer.join(60)
        done = closing
        push = [x for r in results for x in r.get("fanout", [])]
        hist: dict[str, int] = {}
        for r in results:
            for k, v in (r.get("hist") or {}).items():
                hist[k] = hist.get(k, 0) + v
        final = done.get("final_price")
        saw_final = sum(1 for r in results for price in r.get("closed", []) if price == final)
        frames = sum(r.get("frames", 0) for r in results)
        server_cpu = round(total_cpu(ws) - marks["cpu"], 2)
        report["driver"] = done
        report["mintdrop"] = {
            "connected": ready, "connect_s": round(connect_s, 1),
            "final_price_seen_ratio": round(saw_final / args.sockets, 4),
            "bid_to_watcher_latency_ms": {"p50": _hist_pct(hist, 0.5), "p99": _hist_pct(hist, 0.99),
                                          "max": _hist_pct(hist, 1.0), "pairs": sum(hist.values())},
            # From the frame's `at` (the bid's transaction built it, before COMMIT) to the client:
            # commit, Redis, the hub, the coalescing window and the fan-out, without the bid's own
            # round trip and lock wait (open auction frames only; Go clients).
            "push_to_watcher_latency_ms": {"p50": pct(push, 0.5), "p99": pct(push, 0.99), "max": pct(push, 1.0),
                                           "samples": len(push)},
            "frames_per_socket": round(frames / max(1, ready), 1),
            "frames_delivered": frames,
            "reconnects_after_4408": sum(r.get("reconnects", 0) for r in results),
            "client_dial_retries": sum(r.get("dial_retries", 0) for r in results),
            "server_cpu_s": server_cpu,
            "server_cpu_pct": round(100 * server_cpu / (time.monotonic() - marks["t0"]), 1),
            "server_cpu_per_frame_us": per_frame_us(server_cpu, frames),
            "client_cpu_s": round(sum(r.get("cpu_s", 0.0) for r in results), 2),
            "client_errors": [e for r in results for e in r.get("errors", [])][:3],
        }  # fmt: skip
        raw_p99 = report["raw_websockets"]["latency_ms"]["p99"]
        p99 = report["mintdrop"]["bid_to_watcher_latency_ms"]["p99"]
        report["p99_ratio_vs_raw"] = round(p99 / raw_p99, 2) if raw_p99 and p99 else None
        raw_us, us = (
            report["raw_websockets"]["server_cpu_per_frame_us"],
            report["mintdrop"]["server_cpu_per_frame_us"],
        )
        report["cpu_per_frame_ratio_vs_raw"] = round(us / raw_us, 2) if raw_us and us else None
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return report


def ROOT_LOCAL() -> str:
    path = HERE.parents[1] / ".local"
    path.mkdir(exist_ok=True)
    return str(path)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(1, str(HERE.parents[1]))
    if sys.argv[1] == "--auction-client":
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        _client_main(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    elif sys.argv[1] == "--driver":
        _driver(int(sys.argv[2]), [int(u) for u in sys.argv[3].split(",")], float(sys.argv[4]),
                float(sys.argv[5]), sys.argv[6], int(sys.argv[7]), sys.argv[8], int(sys.argv[9]))  # fmt: skip
