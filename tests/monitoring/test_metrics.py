"""Process metrics: route templates, reservation outcomes, the /metrics endpoint, multi-process sums,
exporter ports, the off switch, and a slow scrape that must not hold up requests."""

import os
import subprocess
import sys
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily

from monitoring.collectors import SystemCollector
from monitoring.exporter import start_process_exporter
from tests.monitoring.prom import free_port

ROOT = Path(__file__).resolve().parents[2]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
def test_http_metrics_are_labelled_by_route_template_not_raw_path(client: Client) -> None:
    route = "/api/v1/drops/<int:pk>/"
    before = sample("mintdrop_http_responses_total", method="GET", route=route, status="404")
    for pk in (987654, 987655, 987656):
        assert client.get(f"/api/v1/drops/{pk}/").status_code == 404
    assert sample("mintdrop_http_responses_total", method="GET", route=route, status="404") == before + 3
    assert sample("mintdrop_http_request_duration_seconds_count", method="GET", route=route) >= 3
    # A random URL is one "unmatched" series, whatever the path.
    before = sample("mintdrop_http_responses_total", method="GET", route="unmatched", status="404")
    client.get(f"/no/such/{uuid.uuid4().hex}")
    assert (
        sample("mintdrop_http_responses_total", method="GET", route="unmatched", status="404") == before + 1
    )


@pytest.mark.django_db
def test_reservation_refusals_are_counted_by_their_error_code(client: Client) -> None:
    user = User.objects.create_user(username=f"m-{uuid.uuid4().hex[:6]}")
    client.force_login(user)
    before = {
        code: sample("mintdrop_reservations_total", outcome=code)
        for code in ("validation_error", "not_found")
    }
    assert (
        client.post("/api/v1/reservations/", {"drop_id": "x"}, content_type="application/json").status_code
        == 400
    )
    body = {"drop_id": 99999999, "sku_id": 99999999, "quantity": 1}
    response = client.post("/api/v1/reservations/", body, content_type="application/json")
    code = response.json()["error"]["code"]
    assert sample("mintdrop_reservations_total", outcome="validation_error") == before["validation_error"] + 1
    assert sample("mintdrop_reservations_total", outcome=code) == before.get(code, 0) + 1


def test_metrics_endpoint_answers_local_scrapers_only(client: Client) -> None:
    client.get("/healthz")
    page = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert page.status_code == 200
    assert b'mintdrop_http_responses_total{method="GET",route="/healthz",status="200"}' in page.content
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404


CHILD = """
import sys
from monitoring import metrics
for _ in range(int(sys.argv[1])):
    metrics.count_reservation("reserved")
"""


def test_web_workers_metrics_are_summed_across_processes(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two worker processes write PROMETHEUS_MULTIPROC_DIR; one /metrics answer sums them."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in ("2", "3"):
        subprocess.run([sys.executable, "-c", CHILD, n], cwd=ROOT, env=env, check=True, timeout=120)
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'mintdrop_reservations_total{outcome="reserved"} 5.0' in text


def test_a_taken_exporter_port_is_logged_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("METRICS_PORT", str(port))
    assert start_process_exporter(f"test-a-{port}") == port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert b"mintdrop_reservations_total" in response.read()
    # A second process kind configured onto the same port runs on, without metrics.
    assert start_process_exporter(f"test-b-{port}") is None


OFF = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings
from monitoring import metrics
from monitoring.exporter import start_process_exporter
metrics.count_reservation("reserved")
print("middleware" if "monitoring.http.HttpMetricsMiddleware" in settings.MIDDLEWARE else "no-middleware")
print(metrics.RESERVATIONS.labels("reserved")._value.get())
print(start_process_exporter("relay"))
"""


def test_metrics_switch_off_removes_middleware_counters_and_exporters() -> None:
    env = {**os.environ, "MINTDROP_METRICS": "0", "METRICS_PORT": str(free_port())}
    out = subprocess.run(
        [sys.executable, "-c", OFF],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=180,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert out == ["no-middleware", "0.0", "None"]


IN_SLOW_QUERY = threading.Event()


@pytest.fixture
def slow_scrape_port() -> Iterator[int]:
    """An endpoint like the web's /metrics plus a system source whose query takes 3 s (pg_sleep)."""

    def slow_source() -> Iterator[GaugeMetricFamily]:
        with connection.cursor() as cursor:
            IN_SLOW_QUERY.set()
            cursor.execute("SELECT pg_sleep(3)")
        yield GaugeMetricFamily("mintdrop_test_slow", "A slow source.", value=1)

    class Both:
        def collect(self):
            yield from REGISTRY.collect()
            yield from SystemCollector({"slow": slow_source}).collect()

    registry = CollectorRegistry()
    registry.register(Both())
    port = free_port()
    server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield port
    server.shutdown()
    server.server_close()


@pytest.mark.django_db(transaction=True)
def test_a_slow_scrape_does_not_hold_up_requests(client: Client, slow_scrape_port: int) -> None:
    finished = threading.Event()
    body: list[bytes] = []

    def scrape() -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{slow_scrape_port}/metrics", timeout=120) as r:
            body.append(r.read())
        finished.set()

    scraper = threading.Thread(target=scrape)
    IN_SLOW_QUERY.clear()
    scraper.start()
    assert IN_SLOW_QUERY.wait(60), "the scrape never reached its slow query"
    route = "/api/v1/drops/<int:pk>/"
    before = sample("mintdrop_http_request_duration_seconds_count", method="GET", route=route)
    served_during_scrape = 0
    for pk in range(20):
        assert client.get(f"/api/v1/drops/{990000 + pk}/").status_code == 404
        if not finished.is_set():
            served_during_scrape += 1
    scraper.join(120)
    assert body and b"mintdrop_test_slow 1.0" in body[0]
    # Requests went on, and were recorded, while the scrape sat in its slow query (no lock held).
    assert served_during_scrape > 0
    assert sample("mintdrop_http_request_duration_seconds_count", method="GET", route=route) == before + 20


def test_each_process_kind_has_its_own_port_and_the_test_suite_none(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitoring.ports import all_targets, port_for

    monkeypatch.delenv("METRICS_PORT", raising=False)
    monkeypatch.setenv("METRICS_PORT_BASE", "59100")
    ports = all_targets()
    assert len(set(ports.values())) == len(ports)  # no two kinds collide
    assert port_for("relay") == 59101 and port_for("consume-saga") == 59110
    assert port_for("consume-diagnostics") is None  # a group without a fixed port
    monkeypatch.setenv("METRICS_PORT_BASE", "off")
    assert port_for("relay") is None
    monkeypatch.setenv("METRICS_PORT", "59999")
    assert port_for("relay") == 59999
