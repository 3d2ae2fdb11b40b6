"""Fixtures for the event backbone tests: a private Kafka namespace per test, helpers for processes."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from django.conf import settings
from django.db import connection

from realtime.kafka_config import admin_config
from realtime.topic_admin import ensure_topics
from realtime.topics import TOPICS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kafka_prefix(settings: pytest.FixtureRequest) -> Iterator[str]:
    """A topic/group prefix of this test only (topics created now, deleted after)."""
    prefix = f"{os.environ['KAFKA_TOPIC_PREFIX']}{uuid.uuid4().hex[:6]}."
    settings.KAFKA_TOPIC_PREFIX = prefix  # type: ignore[attr-defined]
    ensure_topics()
    yield prefix
    AdminClient(admin_config()).delete_topics([f"{prefix}{t.name}" for t in TOPICS], operation_timeout=10)


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a `manage.py` child: this test's database and Kafka prefix."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "KAFKA_TOPIC_PREFIX": settings.KAFKA_TOPIC_PREFIX,
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def start_manage(*args: str, **env: str) -> subprocess.Popen[bytes]:
    """Start `manage.py <args>` as a real child process (for kill -9 tests)."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=child_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for(predicate: Callable[[], bool], *, timeout: float = 60.0, what: str = "condition") -> None:
    """Poll `predicate` until true; fail the test after `timeout` seconds (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
