"""One purchase, one trace in Jaeger: web -> relay -> saga -> nft -> worker (chain tx) -> chainwatch -> projector.

The whole system runs as real processes (tests/frontend/stack.py: granian, relay, saga, nft,
fulfilment, projector, a Celery worker, watch_chain, a private anvil with 1 s blocks) with tracing on,
exporting over OTLP/HTTP to the Jaeger that `ops/start jaeger` runs. The buyer's client acts like a
traced front end: its three requests (reserve, check out, pay) carry one W3C `traceparent` (the
client's own "purchase" span, which it does not export). The test then reads the trace back from
Jaeger's query API and checks that every process took part and that parents come before children.
"""

import json
import os
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from eth_account import Account

from commerce.models import Order
from commerce.services import catalog, drops
from realtime.trace_view import fetch_trace, render
from tests.frontend.stack import Stack
from tests.tokens import issue_token

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

JAEGER_UI_PORT = os.environ.get("JAEGER_UI_PORT", "56686")
JAEGER_OTLP_HTTP_PORT = os.environ.get("JAEGER_OTLP_HTTP_PORT", "54318")
JAEGER_QUERY_URL = os.environ.get("JAEGER_QUERY_URL", f"http://127.0.0.1:{JAEGER_UI_PORT}")
OTLP_ENDPOINT = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{JAEGER_OTLP_HTTP_PORT}")
DEADLINE_S = 240.0  # purchase -> 2 confirmations -> every span exported and stored, on a loaded box


def _get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def _jaeger_up() -> bool:
    try:
        _get_json(f"{JAEGER_QUERY_URL}/api/services")
        return True
    except (OSError, ValueError):
        return False


@pytest.fixture
def traced_stack(transactional_db: None, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Stack]:
    if not _jaeger_up():
        pytest.fail(f"Jaeger does not answer at {JAEGER_QUERY_URL}: run `ops/start jaeger`")
    # Stack.env() copies os.environ into every process it starts.
    monkeypatch.setenv("MINTDROP_TRACING", "1")
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", OTLP_ENDPOINT)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")  # export within ~0.2 s rather than 5 s
    running = Stack()
    try:
        running.start()
        # pytest-django's `settings` restores the URL afterwards; the stack's chain dies with it.
        settings.CHAIN_RPC_URL = running.chain_url
        yield running
    finally:
        running.stop()


def _seed() -> dict[str, Any]:
    """A merchant with a deployed collection, a digital NFT item in a live drop, a buyer with a wallet."""
    from nft.keys import signer_account
    from nft.models import Wallet
    from nft.services.collections import deploy_collection

    merchant = catalog.create_merchant(
        name="Trace Shop", slug="trace-shop", owner=User.objects.create_user("m")
    )
    onchain = deploy_collection(
        name="Traced", symbol="TRC", royalty_receiver=signer_account().address, royalty_bps=0
    )
    collection = catalog.create_collection(
        merchant_id=merchant.pk, name="Traced", chain_id=onchain.chain_id, contract_address=onchain.address
    )
    product = catalog.create_product(
        merchant_id=merchant.pk,
        kind="digital",
        title="Traced wearable",
        collection_id=collection.pk,
        metadata_template={"name": "Traced #{serial}"},
        skus=[catalog.SkuSpec(code="TRC", price=1500, edition_size=10)],
    )
    sku = product.skus.get()
    drop = drops.create_drop(
        merchant_id=merchant.pk,
        title="Traced drop",
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=1),
        per_buyer_limit=1,
        items=[drops.DropItemSpec(sku_id=sku.pk, quantity=5)],
    )
    drops.start_drop(drop_id=drop.pk)
    buyer = User.objects.create_user("trace-buyer", password=None)
    Wallet.objects.create(user=buyer, address=Account.create().address, kind="linked")
    return {"drop": drop, "sku": sku, "token": issue_token(buyer)}


class TracedClient:
    """The buyer's front end: every request is a child of one client span of trace `trace_id`."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.trace_id = secrets.token_hex(16)
        self.client_span = secrets.token_hex(8)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Token {self.token}",
                "traceparent": f"00-{self.trace_id}-{self.client_span}-01",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.status in (200, 201, 202), r.status
            return json.loads(r.read())


def _trace(trace_id: str) -> dict[str, Any] | None:
    try:
        doc = _get_json(f"{JAEGER_QUERY_URL}/api/traces/{trace_id}")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:  # not stored (yet)
            return None
        raise
    data = doc.get("data") or []
    return data[0] if data else None


def _spans(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """Each span with its service name and its parent span id (None for a root / remote parent)."""
    services = {pid: p["serviceName"] for pid, p in trace["processes"].items()}
    out = []
    for s in trace["spans"]:
        parents = [r["spanID"] for r in s.get("references", []) if r["refType"] == "CHILD_OF"]
        out.append({**s, "service": services[s["processID"]], "parent": parents[0] if parents else None})
    return out


WANTED = {  # service -> a span it must have in the purchase's trace
    "mintdrop-web": "POST /api/v1/orders/<int:pk>/pay/demo-confirm/",
    "mintdrop-relay": "publish payment.succeeded",
    "mintdrop-saga": "saga payment.succeeded",
    "mintdrop-nft": "nft nft.mint.requested",
    "mintdrop-worker": "chain eth_sendRawTransaction",
    "mintdrop-chainwatch": "chainwatch confirm",
    "mintdrop-projector": "projector nft.mint.confirmed",
}


def _complete(spans: list[dict[str, Any]]) -> bool:
    present = {(s["service"], s["operationName"]) for s in spans}
    return all(item in present for item in WANTED.items()) and any(
        s["operationName"] == "saga nft.mint.confirmed" for s in spans
    )


@pytest.mark.django_db(transaction=True)
def test_one_purchase_is_one_trace_in_jaeger_across_every_process(traced_stack: Stack) -> None:
    data = _seed()
    client = TracedClient(traced_stack.web_url, data["token"])
    client.post(
        "/api/v1/reservations/", {"drop_id": data["drop"].pk, "sku_id": data["sku"].pk, "quantity": 1}
    )
    order_id = client.post("/api/v1/checkout/", {})["id"]
    client.post(f"/api/v1/orders/{order_id}/pay/demo-confirm/", {"outcome": "succeeded"})

    deadline = time.monotonic() + DEADLINE_S
    spans: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        traced_stack.check_alive()
        trace = _trace(client.trace_id)
        spans = _spans(trace) if trace else []
        if _complete(spans) and Order.objects.get(pk=order_id).status == "fulfilled":
            break
        time.sleep(1.0)
    found = sorted({(s["service"], s["operationName"]) for s in spans})
    assert _complete(spans), f"trace {client.trace_id} incomplete after {DEADLINE_S}s; spans: {found}"
    assert Order.objects.get(pk=order_id).status == "fulfilled"

    # One trace: every span of every process carries the client's trace id.
    assert {s["traceID"] for s in spans} == {client.trace_id}
    by_id = {s["spanID"]: s for s in spans}
    # The only spans without a parent in the trace are the three requests, children of the client span.
    web_roots = [s for s in spans if s["parent"] not in by_id]
    assert {s["parent"] for s in web_roots} == {client.client_span}
    assert sorted(s["operationName"] for s in web_roots) == [
        "POST /api/v1/checkout/",
        "POST /api/v1/orders/<int:pk>/pay/demo-confirm/",
        "POST /api/v1/reservations/",
    ]
    # Causal order: each span starts no earlier than its parent (one machine, one clock).
    for s in spans:
        if s["parent"] in by_id:
            assert by_id[s["parent"]]["startTime"] <= s["startTime"], (by_id[s["parent"]], s)

    # The chain from the pay request to the frame the projector sent, hop by hop.
    frame = next(s for s in spans if s["operationName"] == "projector nft.mint.confirmed")
    chain = []
    node: dict[str, Any] | None = frame
    while node is not None:
        chain.append((node["service"], node["operationName"]))
        node = by_id.get(node["parent"])
    chain.reverse()
    assert chain == [
        ("mintdrop-web", "POST /api/v1/orders/<int:pk>/pay/demo-confirm/"),
        ("mintdrop-relay", "publish payment.succeeded"),
        ("mintdrop-saga", "saga payment.succeeded"),
        ("mintdrop-relay", "publish nft.mint.requested"),
        ("mintdrop-nft", "nft nft.mint.requested"),
        ("mintdrop-worker", "nft send mint"),
        ("mintdrop-chainwatch", "chainwatch confirm"),
        ("mintdrop-relay", "publish nft.mint.confirmed"),
        ("mintdrop-projector", "projector nft.mint.confirmed"),
    ], chain
    send = next(s for s in spans if s["operationName"] == "chain eth_sendRawTransaction")
    assert by_id[send["parent"]]["operationName"] == "nft send mint"

    # What `manage.py show_trace` prints for it: the same spans, as a tree.
    trace = fetch_trace(client.trace_id, base_url=JAEGER_QUERY_URL)
    assert trace is not None
    lines = render(trace)
    assert len(lines) == len(trace["spans"])
    assert any(line.endswith("mintdrop-chainwatch: chainwatch confirm") for line in lines)
