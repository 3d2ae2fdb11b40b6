"""A trace from Jaeger's query API as an indented tree of spans (for `manage.py show_trace`).

The Jaeger binary built from the Go module serves the query API but not the web UI (its assets are
built separately and are not in the module), so this is how a developer opens a purchase's trace
from the terminal.
"""

import json
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings

from realtime.models import OutboxEvent


def fetch_trace(
    trace_id: str, *, base_url: str | None = None, timeout: float = 10.0
) -> dict[str, Any] | None:
    """The trace document Jaeger stores under `trace_id`, or None if it has none."""
    url = f"{(base_url or settings.JAEGER_QUERY_URL).rstrip('/')}/api/traces/{trace_id}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (a configured local URL)
            doc = json.loads(r.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
    data = doc.get("data") or []
    return data[0] if data else None


def order_trace_ids(order_id: int) -> list[str]:
    """Trace ids of the order's events still in the outbox (rows are pruned after retention), oldest first."""
    rows = OutboxEvent.objects.filter(aggregatetype="order", aggregateid=str(order_id)).order_by("sequence")
    seen: dict[str, None] = {}
    for trace_id in rows.values_list("trace_id", flat=True):
        seen.setdefault(trace_id, None)
    return list(seen)


def render(trace: dict[str, Any]) -> list[str]:
    """One line per span, children indented under parents, siblings by start time."""
    services = {pid: p["serviceName"] for pid, p in trace["processes"].items()}
    spans = {s["spanID"]: s for s in trace["spans"]}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for s in trace["spans"]:
        parents = [r["spanID"] for r in s.get("references", []) if r.get("refType") == "CHILD_OF"]
        parent = parents[0] if parents and parents[0] in spans else None
        children.setdefault(parent, []).append(s)
    t0 = min((s["startTime"] for s in trace["spans"]), default=0)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for s in sorted(children.get(parent, []), key=lambda x: x["startTime"]):
            at, took = (s["startTime"] - t0) / 1000, s["duration"] / 1000
            lines.append(
                f"{at:10.1f} ms {took:9.1f} ms  {'  ' * depth}{services.get(s['processID'], '?')}: {s['operationName']}"
            )
            walk(s["spanID"], depth + 1)

    walk(None, 0)
    return lines
