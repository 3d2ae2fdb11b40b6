"""Fixtures of the monitoring tests: a metrics exporter in this process and a test-only Prometheus."""

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from monitoring import collectors
from tests.monitoring.prom import TestPrometheus, free_port
from tests.nft.conftest import automine_guard, chain, collection, confirm_until, signer  # noqa: F401  (anvil)
from tests.realtime.conftest import kafka_prefix  # noqa: F401  (the backbone's per-test Kafka namespace)

# The system sources the live alert tests make real; the chain / Celery / notification ones are
# covered by promtool cases (and their own unit tests), and would only slow each scrape down.
LIVE_SOURCES = {
    "outbox": collectors.outbox,
    "dead_letters": collectors.dead_letters,
    "kafka": collectors.consumer_lag,
    "transactions": collectors.transactions,
}


class _Both:
    """This process's own metrics (REGISTRY) plus the system collector, on one endpoint."""

    def __init__(self) -> None:
        self.system = collectors.SystemCollector(LIVE_SOURCES)

    def collect(self):
        yield from REGISTRY.collect()
        yield from self.system.collect()


@pytest.fixture(scope="module")
def exporter_port() -> Iterator[int]:
    registry = CollectorRegistry()
    registry.register(_Both())
    port = free_port()
    server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield port
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def prometheus(exporter_port: int) -> Iterator[TestPrometheus]:
    prom = TestPrometheus(target_port=exporter_port)
    try:
        prom.wait(prom.ready, what="the test Prometheus to start")
        yield prom
    finally:
        prom.stop()
