"""Compliance audit over the event log (`manage.py audit --from ... --to ...`).

Reads every business topic from the beginning with its own reader group (`audit`), commits no
offset and writes nothing but the report files. Events are de-duplicated by id (the log is
at-least-once) and only events that occurred before `--to` are considered, so the report depends
only on the history up to `--to`: two runs over the same range give byte-identical files.

Checks, on events with `from <= occurred_at < to`:

- `paid_order_has_payment`: every `order.paid` has a `payment.succeeded` for that order, for the
  same amount and currency in total;
- `minted_token_has_paid_order_line`: every `nft.mint.confirmed` names a line of an order that was
  placed (`order.placed` lists the line) and paid;
- `stock_never_below_zero`: every stock figure in `inventory.*` is >= 0, `reserved + sold <=
  offered`, and `available == offered - reserved - sold` (checked on the raw payload, so a message
  that also fails its schema is still judged);
- `totals`: per merchant and currency, orders paid, gross paid, refunds and net.
"""

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message

from realtime.consumer_decode import decode_message
from realtime.logreader import read_log
from realtime.topics import TOPICS

STOCK_FIELDS = ("offered", "reserved", "sold", "available")


@dataclass(frozen=True)
class LoggedEvent:
    id: str
    type: str
    key: str
    occurred_at: datetime
    payload: dict[str, Any]
    valid: bool
    error: str = ""


@dataclass
class AuditReport:
    start: datetime
    end: datetime
    events_by_type: dict[str, int] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    totals: list[dict[str, Any]] = field(default_factory=list)
    invalid_events: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "range": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "events_by_type": dict(sorted(self.events_by_type.items())),
            "checks": self.checks,
            "totals": self.totals,
            "invalid_events": self.invalid_events,
            "ok": all(not c["failures"] for c in self.checks.values()) and not self.invalid_events,
        }


def _parse_time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _from_message(msg: Message) -> LoggedEvent | None:
    decoded = decode_message(msg)
    if decoded.event is not None:
        e = decoded.event
        return LoggedEvent(str(e.id), e.type, e.key, e.occurred_at, e.payload, valid=True)
    try:
        doc = json.loads(msg.value() or b"")
    except ValueError:
        doc = {}
    doc = doc if isinstance(doc, dict) else {}
    occurred = _parse_time(doc.get("occurred_at"))
    if occurred is None:  # fall back to the broker timestamp, which never changes once written
        kind, millis = msg.timestamp()
        if kind == TIMESTAMP_NOT_AVAILABLE:
            return None
        occurred = datetime.fromtimestamp(millis / 1000, UTC)
    payload = doc.get("payload")
    return LoggedEvent(
        id=str(doc.get("id") or f"{msg.topic()}:{msg.partition()}:{msg.offset()}"),
        type=str(doc.get("type") or ""),
        key=str(doc.get("key") or ""),
        occurred_at=occurred,
        payload=payload if isinstance(payload, dict) else {},
        valid=False,
        error=str(decoded.error),
    )


def read_history(end: datetime) -> list[LoggedEvent]:
    """Every distinct event (first copy of each id) that occurred before `end`, in a stable order."""
    topics = [t.full_name for t in TOPICS if t.aggregates and t.name != "diagnostics"]
    events: dict[str, LoggedEvent] = {}
    for msg in read_log(topics, reader="audit"):
        event = _from_message(msg)
        if event is not None and event.occurred_at < end and event.id not in events:
            events[event.id] = event
    return sorted(events.values(), key=lambda e: (e.occurred_at, e.id))


def _stock_problems(payload: dict[str, Any]) -> list[str]:
    values = {f: payload.get(f) for f in STOCK_FIELDS}
    if not all(isinstance(v, int) for v in values.values()):
        return []
    offered, reserved, sold, available = (int(values[f] or 0) for f in STOCK_FIELDS)
    problems = [f"{f} is {values[f]}" for f in STOCK_FIELDS if int(values[f] or 0) < 0]
    if reserved + sold > offered:
        problems.append(f"reserved {reserved} + sold {sold} > offered {offered}")
    if available != offered - reserved - sold:
        problems.append(f"available {available} != offered - reserved - sold ({offered - reserved - sold})")
    return problems


def run_audit(*, start: datetime, end: datetime) -> AuditReport:
    """Run every check over [start, end) and return the report (no side effects)."""
    history = read_history(end)
    in_range = [e for e in history if start <= e.occurred_at]
    report = AuditReport(start=start, end=end)
    for e in in_range:
        report.events_by_type[e.type or "(unknown)"] = report.events_by_type.get(e.type or "(unknown)", 0) + 1
    report.invalid_events = [
        {"id": e.id, "type": e.type, "occurred_at": e.occurred_at.isoformat(), "error": e.error}
        for e in in_range
        if not e.valid
    ]
    valid = [e for e in history if e.valid]
    payments: dict[int, list[dict[str, Any]]] = defaultdict(list)
    paid_orders: dict[int, dict[str, Any]] = {}
    order_lines: dict[int, set[str]] = {}
    merchant_of: dict[int, int] = {}
    for e in valid:
        order_id: Any = e.payload.get("order_id")
        if e.type == "payment.succeeded":
            payments[order_id].append(e.payload)
        elif e.type == "order.paid":
            paid_orders[order_id] = e.payload
        elif e.type == "order.placed":
            order_lines[order_id] = {str(line["line_id"]) for line in e.payload.get("lines", [])}
        if e.type.startswith("order.") and "merchant_id" in e.payload:
            merchant_of[order_id] = e.payload["merchant_id"]

    report.checks["paid_order_has_payment"] = _check_payments(in_range, payments)
    report.checks["minted_token_has_paid_order_line"] = _check_mints(in_range, paid_orders, order_lines)
    report.checks["stock_never_below_zero"] = _check_stock(in_range)
    report.totals = _totals(in_range, merchant_of)
    return report


def _check(checked: int, failures: list[dict[str, Any]]) -> dict[str, Any]:
    def order(f: dict[str, Any]) -> tuple[Any, ...]:
        return (
            f.get("order_id") or 0,
            f.get("sku_id") or 0,
            str(f.get("line_id", "")),
            f["problem"],
            f["event_id"],
        )

    return {"checked": checked, "failures": sorted(failures, key=order)}


def _check_payments(events: list[LoggedEvent], payments: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    paid = [e for e in events if e.valid and e.type == "order.paid"]
    failures = []
    for e in paid:
        order_id = e.payload["order_id"]
        found = payments.get(order_id, [])
        if not found:
            failures.append({"order_id": order_id, "event_id": e.id, "problem": "no payment.succeeded"})
            continue
        amount = sum(p["amount"] for p in found)
        currencies = sorted({p["currency"] for p in found})
        if amount != e.payload["total"] or currencies != [e.payload["currency"]]:
            failures.append(
                {
                    "order_id": order_id,
                    "event_id": e.id,
                    "problem": f"paid {amount} {'/'.join(currencies)} for a total of "
                    f"{e.payload['total']} {e.payload['currency']}",
                }
            )
    return _check(len(paid), failures)


def _check_mints(
    events: list[LoggedEvent], paid_orders: dict[int, dict[str, Any]], order_lines: dict[int, set[str]]
) -> dict[str, Any]:
    minted = [e for e in events if e.valid and e.type == "nft.mint.confirmed"]
    failures = []
    for e in minted:
        order_id, line_id = e.payload["order_id"], str(e.payload["line_id"])
        problem = None
        if order_id not in paid_orders:
            problem = "order was never paid"
        elif line_id not in order_lines.get(order_id, set()):
            problem = "order has no such line"
        if problem:
            failures.append(
                {
                    "order_id": order_id,
                    "line_id": line_id,
                    "token_id": e.payload.get("token_id"),
                    "event_id": e.id,
                    "problem": problem,
                }
            )
    return _check(len(minted), failures)


def _check_stock(events: list[LoggedEvent]) -> dict[str, Any]:
    stock = [e for e in events if e.type.startswith("inventory.")]
    failures = [
        {"event_id": e.id, "type": e.type, "sku_id": e.payload.get("sku_id"), "problem": "; ".join(problems)}
        for e in stock
        if (problems := _stock_problems(e.payload))
    ]
    return _check(len(stock), failures)


def _totals(events: list[LoggedEvent], merchant_of: dict[int, int]) -> list[dict[str, Any]]:
    rows: dict[tuple[int | None, str], dict[str, int]] = defaultdict(
        lambda: {"orders_paid": 0, "gross": 0, "refunds": 0, "refunded": 0}
    )
    for e in events:
        if not e.valid:
            continue
        if e.type == "order.paid":
            row = rows[(e.payload["merchant_id"], e.payload["currency"])]
            row["orders_paid"] += 1
            row["gross"] += e.payload["total"]
        elif e.type == "payment.refunded":
            row = rows[(merchant_of.get(e.payload["order_id"]), e.payload["currency"])]
            row["refunds"] += 1
            row["refunded"] += e.payload["amount"]
    return [
        {"merchant_id": merchant, "currency": currency, **row, "net": row["gross"] - row["refunded"]}
        for (merchant, currency), row in sorted(rows.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1]))
    ]


def write_report(report: AuditReport, out_dir: Path) -> list[Path]:
    """Write `<name>.json`, `<name>-totals.csv` and `<name>-findings.csv`; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = lambda d: d.strftime("%Y%m%dT%H%M%SZ")  # noqa: E731
    base = out_dir / f"audit-{stamp(report.start.astimezone(UTC))}-{stamp(report.end.astimezone(UTC))}"
    doc = report.to_dict()
    paths = [base.with_suffix(".json"), Path(f"{base}-totals.csv"), Path(f"{base}-findings.csv")]
    paths[0].write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    totals_fields = ["merchant_id", "currency", "orders_paid", "gross", "refunds", "refunded", "net"]
    paths[1].write_text(_csv(totals_fields, doc["totals"]))
    findings = [
        {
            "check": name,
            "subject": f.get("order_id", f.get("sku_id", "")),
            "event_id": f["event_id"],
            "problem": f["problem"],
        }
        for name, check in sorted(doc["checks"].items())
        for f in check["failures"]
    ] + [
        {"check": "valid_schema", "subject": e["type"], "event_id": e["id"], "problem": e["error"]}
        for e in doc["invalid_events"]
    ]
    paths[2].write_text(_csv(["check", "subject", "event_id", "problem"], findings))
    return paths


def _csv(fields: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
