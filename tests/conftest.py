"""Shared test set-up: every test run talks to the real services that `ops/start` runs."""

import os
import uuid

import pytest
from django.conf import settings

# Each run gets its own namespace for Kafka topics, consumer groups and Redis stream keys, apart
# from `make dev` (prefix "mintdrop.") and from other runs. pytest-django has already loaded the
# settings by the time this file is imported, so set both the setting and the environment that
# subprocesses started by tests inherit.
TEST_PREFIX = f"test.{uuid.uuid4().hex[:8]}."
os.environ["KAFKA_TOPIC_PREFIX"] = TEST_PREFIX
settings.KAFKA_TOPIC_PREFIX = TEST_PREFIX
# Crash tests arm config.faults crash points in the children they kill; only a test run may.
os.environ["MINTDROP_FAULT_INJECTION"] = "1"
# Processes the tests start (relay, consumers, ws) serve no metrics on the dev system's fixed ports.
os.environ["METRICS_PORT_BASE"] = "off"
settings.FAULT_INJECTION_ENABLED = True
# Throttles (commerce/abuse/) count per client IP, and the race tests, perf tests and browser stacks
# send hundreds of buyers from 127.0.0.1: off for the suite and the servers it starts. The tests of
# the throttles themselves (tests/abuse/) turn them back on with the `throttles` fixture.
os.environ["ABUSE_THROTTLE_ENABLED"] = "0"
settings.ABUSE_THROTTLE_ENABLED = False


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop at once, with one line per missing service, rather than a wall of tracebacks."""
    import django

    django.setup()
    from config.dependencies import probe_all

    down = [r for r in probe_all() if not r.ok]
    if down:
        pytest.exit("\n".join(r.hint() for r in down), returncode=3)


@pytest.fixture(autouse=True)
def _fresh_sold_out_memo() -> None:
    """The sold-out memo lives in the process: one test's sold-out SKU must not leak into the next."""
    from commerce.services import soldout_memo

    soldout_memo.clear()
