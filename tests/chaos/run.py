"""One chaos run: a shop and a live drop, buyers and viewers, the seeded faults, then the checks (as JSON)."""

import json
import random
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone
from eth_account import Account

from commerce.models import Order, OrderLine
from commerce.payments.models import StripeEvent
from commerce.services import catalog, drops
from realtime.relay import published_count
from tests.chaos import checks
from tests.chaos.cluster import Cluster
from tests.chaos.pgserver import PrivatePostgres
from tests.chaos.schedule import Fault, schedule
from tests.chaos.stack import LOG_DIR, ChaosStack, wait_until
from tests.chaos.traffic import BuyerStats, Viewers, run_buyer
from tests.tokens import issue_token

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "chaos"
SETTLE_S = 300.0  # bound on the wait for every order to settle after the last fault


def seed_shop(*, nft_units: int, tee_units: int, buyers: int) -> dict[str, Any]:
    from nft.keys import signer_account
    from nft.models import Wallet
    from nft.services.collections import deploy_collection

    owner = User.objects.create_user(f"chaos-owner-{uuid.uuid4().hex[:6]}")
    merchant = catalog.create_merchant(name="Chaos", slug=f"chaos-{uuid.uuid4().hex[:6]}", owner=owner)
    onchain = deploy_collection(
        name="Chaos", symbol="CHS", royalty_receiver=signer_account().address, royalty_bps=0
    )
    collection = catalog.create_collection(
        merchant_id=merchant.pk, name="Chaos", chain_id=onchain.chain_id, contract_address=onchain.address
    )
    wearable = catalog.create_product(
        merchant_id=merchant.pk, kind="digital", title="Chaos wearable", collection_id=collection.pk,
        metadata_template={"name": "Chaos #{serial}"},
        skus=[catalog.SkuSpec(code="CHS", price=1500, edition_size=nft_units)],
    ).skus.get()  # fmt: skip
    tee = catalog.create_product(
        merchant_id=merchant.pk,
        kind="physical",
        title="Chaos tee",
        skus=[catalog.SkuSpec(code="TEE", price=2500)],
    ).skus.get()
    drop = drops.create_drop(
        merchant_id=merchant.pk, title="Chaos drop", starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=2), per_buyer_limit=1000,
        items=[drops.DropItemSpec(sku_id=wearable.pk, quantity=nft_units),
               drops.DropItemSpec(sku_id=tee.pk, quantity=tee_units)],
    )  # fmt: skip
    drops.start_drop(drop_id=drop.pk)
    tokens = []
    for i in range(buyers):
        buyer = User.objects.create_user(f"chaos-buyer-{i}-{uuid.uuid4().hex[:6]}", password=None)
        Wallet.objects.create(user=buyer, address=Account.create().address, kind="linked")
        tokens.append(issue_token(buyer))
    return {
        "merchant": merchant,
        "drop": drop,
        "skus": [wearable.pk, tee.pk],
        "physical": {tee.pk},
        "tokens": tokens,
    }


def unsettled() -> int:
    """Orders the system still owes a move: paid-for but not final nor waiting on the merchant."""
    webhooked = set(
        StripeEvent.objects.filter(type="payment_intent.succeeded", order_id__isnull=False).values_list(
            "order_id", flat=True
        )
    )
    n = Order.objects.filter(status="pending_payment", pk__in=webhooked).count()
    n += (
        OrderLine.objects.filter(order__status__in=("paid", "fulfilling", "partially_refunded"), ships=False)
        .exclude(status__in=("fulfilled", "refunded", "cancelled"))
        .count()
    )
    return n


class FaultRunner:
    """Executes the schedule; counts what was injected by kind; records every action with its time."""

    def __init__(
        self, stack: ChaosStack, cluster: Cluster | None, t0: float, postgres: PrivatePostgres | None = None
    ) -> None:
        self.stack, self.cluster, self.t0, self.postgres = stack, cluster, t0, postgres
        self.injected: Counter[str] = Counter()
        self.log: list[dict[str, Any]] = []
        self.errors: list[str] = []
        # Processes found dead (not by a fault) when a fault came for them: name -> their log's tail.
        self.crashes: dict[str, list[str]] = {}

    def note(self, **entry: Any) -> None:
        self.log.append({"t": round(time.monotonic() - self.t0, 1), **entry})

    def broker_faults(self, faults: list[Fault]) -> None:
        assert self.cluster is not None
        topics = [t.full_name for t in __import__("realtime.topics", fromlist=["TOPICS"]).TOPICS]
        for fault in faults:
            time.sleep(fault.at)
            try:
                partition = int(fault.target.split("[")[1].rstrip("]"))
                topic = next(t for t in topics if t.endswith(".orders") or t == "orders")
                node = self.cluster.leader_of(topic, partition)
                if fault.kind == "broker_leader_kill":
                    self.cluster.sigkill(node)
                    self.note(fault="broker_leader_kill", node=node, partition=partition)
                    time.sleep(fault.hold)
                    self.cluster.restart(node)
                else:
                    self.cluster.sigstop(node)
                    self.note(fault="broker_pause", node=node, seconds=fault.hold)
                    time.sleep(fault.hold)
                    self.cluster.sigcont(node)
                self.injected[fault.kind] += 1
                back = wait_until(lambda: self.cluster.fully_replicated(topics), timeout=90, step=2)
                self.note(fault=f"{fault.kind} recovered", in_sync=back)
            except Exception as exc:
                self.errors.append(f"{fault.kind}: {exc!r}")

    def process_faults(self, faults: list[Fault]) -> None:
        timers: list[threading.Timer] = []
        for fault in faults:
            delay = fault.at - (time.monotonic() - self.t0)
            if delay > 0:
                time.sleep(delay)
            try:
                if fault.kind == "postgres_restart":
                    self._restart_postgres(fault.hold)
                elif fault.kind == "consumer_cut":
                    self.stack.sigstop(fault.target)
                    self.note(fault="consumer_cut", target=fault.target, seconds=fault.hold)
                    t = threading.Timer(fault.hold, self._resume, args=(fault.target,))
                    t.start()
                    timers.append(t)
                elif fault.target == "web-worker":
                    pid = self.stack.kill_web_worker()
                    self.note(fault="kill9", target="web-worker", pid=pid)
                else:
                    if fault.target in self.stack.dead():  # it crashed before its kill: say so
                        self.crashes[fault.target] = _log_tail(fault.target)
                        self.stack.restart(fault.target)
                    self.stack.kill9(fault.target)
                    self.note(fault="kill9", target=fault.target)
                    time.sleep(fault.hold)
                    self.stack.restart(fault.target)
                self.injected[f"{fault.kind}:{fault.target}" if fault.kind == "kill9" else fault.kind] += 1
                if fault.kind == "postgres_restart":
                    self.note(fault="postgres_restart recovered")
            except Exception as exc:
                self.errors.append(f"{fault.kind} {fault.target}: {exc!r}")
        for t in timers:
            t.join()

    def _restart_postgres(self, hold: float) -> None:
        """Crash the private server (immediate shutdown: every session cut, crash recovery on start),
        keep it down `hold` s, start it again. Every process must reconnect by itself."""
        assert self.postgres is not None
        pid = self.postgres.crash()
        self.note(fault="postgres_restart", postmaster=pid, seconds_down=round(hold, 1))
        time.sleep(hold)
        self.postgres.start()

    def _resume(self, name: str) -> None:
        self.stack.sigcont(name)
        self.note(fault="consumer_cut ended", target=name)


def _log_tail(name: str, lines: int = 25) -> list[str]:
    """The last lines of process `name`'s log (its traceback, when it crashed)."""
    path = LOG_DIR / f"{name}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return text.splitlines()[-lines:]


def run_chaos(
    *, seed: int, stack: ChaosStack, with_faults: bool = True, window: float = 150.0, buyers: int = 12,
    viewers: int = 20, nft_units: int = 250, tee_units: int = 100, after_traffic: Any = None,
    settle_s: float = SETTLE_S,
) -> dict[str, Any]:  # fmt: skip
    rng = random.Random(seed)
    shop = seed_shop(nft_units=nft_units, tee_units=tee_units, buyers=buyers)
    drop_id = shop["drop"].pk
    watchers = Viewers(f"{stack.ws_url}/ws/drops/{drop_id}/", viewers).start()
    stop = threading.Event()
    stats = BuyerStats()
    t0 = time.monotonic()
    cluster = Cluster() if with_faults else None
    postgres = PrivatePostgres() if with_faults else None
    runner = FaultRunner(stack, cluster, t0, postgres)
    threads = [
        threading.Thread(
            target=run_buyer,
            daemon=True,
            kwargs={
                "base": stack.web_url,
                "token": tok,
                "drop_id": drop_id,
                "skus": shop["skus"],
                "physical": shop["physical"],
                "rng": random.Random(rng.random()),
                "purchases": 1000,
                "stats": stats,
                "stop": stop,
            },
        )
        for tok in shop["tokens"]
    ]
    for t in threads:
        t.start()
    fault_threads: list[threading.Thread] = []
    if with_faults:
        broker, procs = schedule(seed, window=window)
        fault_threads = [
            threading.Thread(target=runner.broker_faults, args=(broker,), daemon=True),
            threading.Thread(target=runner.process_faults, args=(procs,), daemon=True),
        ]
        for t in fault_threads:
            t.start()
    try:
        time.sleep(window)
        for t in fault_threads:
            t.join(timeout=900)
    finally:
        if cluster is not None:
            cluster.heal()
        if postgres is not None and not postgres.running():
            postgres.start()
    # This thread's session did not outlive a PostgreSQL restart: open a fresh one for the checks.
    connection.close()
    stop.set()
    for t in threads:
        t.join(timeout=120)
    if after_traffic is not None:
        after_traffic()
    traffic_s = time.monotonic() - t0
    dead = stack.dead()
    # A process that died on its own (not by a fault) is a crash: its log's tail goes into the
    # result before the restart (a later seed's run deletes the logs), then it is restarted.
    ended = {name: _log_tail(name) for name in dead if name != "anvil"}
    for name in ended:
        stack.restart(name)
    crash_logs = {**runner.crashes, **ended}

    # Settle: every paid order moved on, every outbox row published (bounded).
    def settled() -> bool:
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM realtime_outboxevent")
            total = cur.fetchone()[0]
        return unsettled() == 0 and published_count() == total

    settled_in_time = wait_until(settled, timeout=settle_s, step=2)
    # Lag of the consumers: wait until every group's PostgreSQL offsets reach the log's end (bounded).
    time.sleep(5)

    def viewers_converged() -> bool:
        from commerce.models import DropItem

        avail = {i.sku_id: i.available for i in DropItem.objects.filter(drop_id=drop_id).with_stock_totals()}
        return all(all(v.get(s) == a for s, a in avail.items()) for v in watchers.stock)

    wait_until(viewers_converged, timeout=90, step=1)
    result = checks.check(chain_url=stack.chain_url, viewers_stock=watchers.stock, drop_ids=[drop_id])
    watchers.close()
    result = {
        "seed": seed,
        "lost": result.pop("lost_total"),
        "duplicate_effects": result.pop("duplicate_effects_total"),
        "orders_stuck": result["orders_stuck"],
        "stock_mismatch": result["stock_mismatch"],
        "faults": dict(sorted(runner.injected.items())),
        "faults_total": sum(runner.injected.values()),
        "fault_errors": runner.errors,
        "events": result["events"],
        "seconds": round(time.monotonic() - t0, 1),
        "traffic_seconds": round(traffic_s, 1),
        "settled_in_time": settled_in_time,
        "died_on_their_own": sorted(crash_logs),
        "crash_logs": crash_logs,
        "buyers": {k: v for k, v in vars(stats).items() if k != "errors"} | {"errors": stats.errors[:5]},
        "viewers": {
            "count": viewers,
            "reconnects": sum(watchers.reconnects),
            "frames": sum(watchers.frames),
            "stock_frames": sum(watchers.stock_frames),
        },
        "detail": result,
        "fault_log": runner.log,
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"seed-{seed}.json").write_text(json.dumps(result, indent=2, default=str))
    return result
