"""Shared test set-up: every test run talks to the real services that `ops/start` runs."""

import os
import uuid

import pytest

# Each run gets its own topic and consumer-group namespace on the shared local Kafka.
os.environ.setdefault("KAFKA_TOPIC_PREFIX", f"test.{uuid.uuid4().hex[:8]}.")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop at once, with one line per missing service, rather than a wall of tracebacks."""
    import django

    django.setup()
    from config.dependencies import probe_all

    down = [r for r in probe_all() if not r.ok]
    if down:
        pytest.exit("\n".join(r.hint() for r in down), returncode=3)
