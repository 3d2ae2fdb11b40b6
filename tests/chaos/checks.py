"""What a chaos run is judged by, computed after the run from the outbox, the Kafka log, the database,
the chain and the viewers' sockets (never from the processes' own counters).

- `lost`: outbox rows missing from the log; per consumer group, outbox events of the types it handles
  that are not below its committed (PostgreSQL) offsets; handled events without their effect
  (saga step, mint row, notification, shipment, sales counted).
- `duplicate_effects`: orders paid more than once, tokens minted on chain per line > 1 (read from the
  chain's Transfer logs, not from our tables), refunds per request > 1, sales counted twice, saga steps
  applied twice for one event.
- `order_violations`: per key, the log's order (first copy of each event) differs from the outbox's.
- `orders_stuck`: orders neither final nor waiting on the merchant (physical lines to ship) nor abandoned
  before payment.
- `stock_mismatch`: item counters vs reservations and sales; each viewer's last stock vs the database.
"""

import json
from collections import Counter, defaultdict
from typing import Any

from django.db.models import Sum
from web3 import Web3

from commerce.models import Drop, DropItem, Order, OrderLine, Reservation
from commerce.payments.models import Refund, SagaStep, StripeEvent
from notifications.models import Notification
from realtime import registry
from realtime.logreader import read_log
from realtime.models import ConsumerOffset, OutboxEvent
from realtime.topics import TOPICS, dead_letter_topic, topic_for_aggregate

GROUPS = ("saga", "nft", "fulfilment", "notify", "sales")
TRANSFER = Web3.keccak(text="Transfer(address,address,uint256)").hex()
ZERO_TOPIC = "0x" + "00" * 32


def _handled(group: str, event_type: str) -> bool:
    return bool(registry.handlers_for(group, event_type))


KeyT = tuple[str, str]  # (topic, key): an order and a drop may share the id "1"


def read_everything() -> tuple[dict[str, list[tuple[str, int, int]]], dict[KeyT, list[str]], int]:
    """Every message of the business topics: id -> [(topic, partition, offset)], key -> ids in log order
    (first copies), and the number of dead-lettered messages."""
    names = [t.full_name for t in TOPICS if t.name != dead_letter_topic().name]
    where: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    by_key: dict[KeyT, list[str]] = defaultdict(list)
    for msg in read_log(names, reader="chaos-check", idle_timeout_s=30):
        doc = json.loads(msg.value() or b"{}")
        eid = doc["id"]
        if eid not in where:
            by_key[(msg.topic() or "", doc["key"])].append(eid)
        where[eid].append((msg.topic() or "", msg.partition() or 0, msg.offset() or 0))
    dead = sum(
        1 for _ in read_log([dead_letter_topic().full_name], reader="chaos-check-dl", idle_timeout_s=30)
    )
    return where, by_key, dead


def onchain_mints(chain_url: str, contracts: list[str]) -> Counter[tuple[str, int]]:
    """(contract, token id) -> how many Transfer events from the zero address the chain holds."""
    w3 = Web3(Web3.HTTPProvider(chain_url, request_kwargs={"timeout": 30}))
    out: Counter[tuple[str, int]] = Counter()
    for address in contracts:
        logs = w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": Web3.to_checksum_address(address),
                                "topics": [TRANSFER, ZERO_TOPIC]})  # fmt: skip
        for log in logs:
            out[(address.lower(), int.from_bytes(bytes(log["topics"][3]), "big"))] += 1
    return out


def check(*, chain_url: str, viewers_stock: list[dict[int, int]], drop_ids: list[int]) -> dict[str, Any]:
    outbox = list(
        OutboxEvent.objects.order_by("sequence").values(
            "id", "type", "aggregatetype", "aggregateid", "payload"
        )
    )
    where, log_by_key, dead_lettered = read_everything()
    ids = {str(r["id"]) for r in outbox}
    type_of = {str(r["id"]): r["type"] for r in outbox}

    lost: dict[str, Any] = {"unpublished": len(ids - where.keys())}
    phantom = len(where.keys() - ids)

    # Per key, the order of first copies in the log must be the outbox's order for that key.
    outbox_by_key: dict[KeyT, list[str]] = defaultdict(list)
    for r in outbox:
        outbox_by_key[(topic_for_aggregate(r["aggregatetype"]).full_name, r["aggregateid"])].append(
            str(r["id"])
        )
    # Only keys whose writes are serialised (an order's events are written under its row lock, one
    # after another) have one true order; a drop's inventory events come from concurrent reservations
    # whose commit order the sequence does not give: their inversions are reported, not judged.
    order_keys = {
        (topic_for_aggregate(r["aggregatetype"]).full_name, r["aggregateid"])
        for r in outbox
        if r["aggregatetype"] == "order"
    }
    order_violations: list[dict[str, Any]] = []
    concurrent_inversions = 0
    for key, in_log in log_by_key.items():
        expected = [e for e in outbox_by_key.get(key, []) if e in where]
        got = [e for e in in_log if e in ids]
        if got == expected:
            continue
        if key in order_keys:
            order_violations.append(
                {"key": key, "log": [type_of[e] for e in got], "outbox": [type_of[e] for e in expected]}
            )
        else:
            concurrent_inversions += 1

    # Consumed = below the group's committed offset in PostgreSQL (offsets live with the effects).
    committed = {(o.group, o.topic, o.partition): o.next_offset for o in ConsumerOffset.objects.all()}
    unconsumed: dict[str, int] = {}
    for group in GROUPS:
        missing = 0
        for eid in ids:
            if not _handled(group, type_of[eid]) or eid not in where:
                continue
            if not any(off < committed.get((group, t, p), -1) for t, p, off in where[eid]):
                missing += 1
        unconsumed[group] = missing
    lost["unconsumed"] = unconsumed

    # Effects of what was consumed.
    steps = set(SagaStep.objects.filter(event_id__isnull=False).values_list("event_id", flat=True))
    saga_types = {"payment.succeeded", "payment.failed", "nft.mint.confirmed", "nft.mint.failed"}
    from nft.models import Mint

    mint_lines = set(Mint.objects.values_list("line_id", flat=True))
    notified = set(Notification.objects.filter(event_id__isnull=False).values_list("event_id", flat=True))
    from commerce.models import Shipment

    shipped_orders = set(Shipment.objects.filter(order_id__isnull=False).values_list("order_id", flat=True))
    effects_missing: Counter[str] = Counter()
    sold_by_drop: Counter[int] = Counter()
    for r in outbox:
        row_id, t, p = r["id"], str(r["type"]), r["payload"]
        if t in saga_types and row_id not in steps:
            effects_missing[f"saga {t}"] += 1
        elif t == "nft.mint.requested" and int(p["line_id"]) not in mint_lines:
            effects_missing["nft mint row"] += 1
        elif t == "order.paid" and row_id not in notified:
            effects_missing["notify order.paid"] += 1
        elif t == "shipment.requested" and int(p["order_id"]) not in shipped_orders:
            effects_missing["fulfilment shipment"] += 1
        if t == "inventory.sold":
            sold_by_drop[int(p["drop_id"])] += 1
    from realtime.models import SalesByDrop

    sales_rows = {s.drop_id: s.sales for s in SalesByDrop.objects.filter(drop_id__in=drop_ids)}
    sales_short = sum(max(sold_by_drop[d] - sales_rows.get(d, 0), 0) for d in drop_ids)
    sales_extra = sum(max(sales_rows.get(d, 0) - sold_by_drop[d], 0) for d in drop_ids)
    if sales_short:
        effects_missing["sales inventory.sold"] += sales_short
    lost["effects_missing"] = dict(effects_missing)

    # Duplicate effects.
    paid_events = Counter(r["aggregateid"] for r in outbox if r["type"] == "order.paid")
    succeeded_events = Counter(r["aggregateid"] for r in outbox if r["type"] == "payment.succeeded")
    nft_lines = OrderLine.objects.exclude(nft_contract_address="").exclude(token_id="")
    contracts = sorted({a.lower() for a in nft_lines.values_list("nft_contract_address", flat=True)})
    chain = onchain_mints(chain_url, contracts)
    line_tokens = Counter(
        (c.lower(), int(t)) for c, t in nft_lines.values_list("nft_contract_address", "token_id")
    )
    tokens_without_line = sum(n for key, n in chain.items() if key not in line_tokens)
    refunds_per_request = Counter(Refund.objects.values_list("idempotency_key", flat=True))
    refund_events = Counter(
        str(r["payload"].get("refund_id") or r["payload"].get("stripe_refund_id") or r["id"])
        for r in outbox if r["type"] == "payment.refunded"
    )  # fmt: skip
    applied_steps = Counter(
        SagaStep.objects.filter(outcome="applied")
        .filter(event_id__isnull=False)
        .values_list("event_id", "step", "line_id")
    )
    duplicate_effects = {
        "orders_paid_twice": sum(1 for n in paid_events.values() if n > 1)
        + sum(1 for n in succeeded_events.values() if n > 1),
        "tokens_per_line_over_1": sum(n - 1 for n in chain.values() if n > 1) + tokens_without_line,
        "refunds_per_request_over_1": sum(n - 1 for n in refunds_per_request.values() if n > 1)
        + sum(n - 1 for n in refund_events.values() if n > 1),
        "sales_counted_twice": sales_extra,
        "saga_steps_applied_twice": sum(n - 1 for n in applied_steps.values() if n > 1),
    }

    # Orders: final, waiting on the merchant to ship, abandoned before paying, or stuck.
    # Orders Stripe said were paid; a declined payment leaves its order open for the buyer to retry
    # until the reservation expires (the buyer's move, not the system's).
    succeeded = set(
        StripeEvent.objects.filter(type="payment_intent.succeeded", order_id__isnull=False).values_list(
            "order_id", flat=True
        )
    )
    stuck: list[dict[str, Any]] = []
    states: Counter[str] = Counter()
    for order in Order.objects.prefetch_related("lines"):
        states[order.status] += 1
        if order.status in ("fulfilled", "cancelled", "refunded"):
            continue
        lines = list(order.lines.all())
        if order.status == "pending_payment":
            if order.pk not in succeeded:
                continue  # not paid (declined, or the buyer gave up): its reservation expires
            stuck.append({"order": order.pk, "status": order.status})
            continue
        waiting_ship = all(
            line.status in ("fulfilled", "refunded", "cancelled")
            or (line.ships and order.pk in shipped_orders)
            for line in lines
        )
        if not waiting_ship:
            stuck.append({"order": order.pk, "status": order.status,
                          "lines": [(ln.kind, ln.status) for ln in lines]})  # fmt: skip

    # Stock: counters = reservations (active) and sales (sold); viewers' last frame = the database.
    stock_issues: list[dict[str, Any]] = []
    items = list(DropItem.objects.filter(drop_id__in=drop_ids).with_stock_totals())
    for item in items:
        active = Reservation.objects.filter(item=item, status="active").aggregate(n=Sum("quantity"))["n"] or 0
        sold = Reservation.objects.filter(item=item, status="sold").aggregate(n=Sum("quantity"))["n"] or 0
        if item.stock_reserved != active or item.stock_sold != sold:
            stock_issues.append({"sku": item.sku_id, "reserved": item.stock_reserved, "active": active,
                                 "sold": item.stock_sold, "sold_reservations": sold})  # fmt: skip
    available = {item.sku_id: item.available for item in items}
    viewers_off = sum(1 for v in viewers_stock if any(v.get(s) != a for s, a in available.items()))
    return {
        "lost": lost,
        "lost_total": lost["unpublished"] + sum(unconsumed.values()) + sum(effects_missing.values()),
        "phantom_events": phantom,
        "order_violations": len(order_violations),
        "order_violation_sample": order_violations[:3],
        "concurrent_key_inversions": concurrent_inversions,
        "duplicate_effects": duplicate_effects,
        "duplicate_effects_total": sum(duplicate_effects.values()),
        "orders_stuck": len(stuck),
        "stuck_sample": stuck[:5],
        "order_states": dict(states),
        "stock_mismatch": len(stock_issues) + viewers_off,
        "stock_issues": stock_issues[:5],
        "viewers_off": viewers_off,
        "dead_lettered": dead_lettered,
        "events": len(ids),
        "events_by_type": dict(Counter(type_of.values()).most_common()),
        "tokens_on_chain": sum(chain.values()),
    }


def drops_of(merchant_id: int) -> list[int]:
    return list(Drop.objects.filter(merchant_id=merchant_id).values_list("pk", flat=True))
