"""Running the real event path in a test: the outbox relay and consumer groups in threads, on real Kafka."""

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from realtime.consumer import ConsumerRunner
from realtime.relay import Relay

ROOT = Path(__file__).resolve().parents[2]


class ConsumerThread:
    """A consumer group's runner in a background thread (its own DB connection, closed at the end)."""

    def __init__(self, group: str, **options: object) -> None:
        self.runner = ConsumerRunner(group, **options)  # type: ignore[arg-type]
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"consumer-{group}", daemon=True)

    def _run(self) -> None:
        try:
            self.runner.run(stop=self.stop_event)
        except BaseException as exc:
            self.error = exc
        finally:
            connection.close()

    def start(self) -> "ConsumerThread":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "consumer thread did not stop"
        assert self.error is None, self.error


class Pipeline:
    """Relay + consumers; `until()` keeps publishing the outbox while waiting for a condition."""

    def __init__(self, groups: tuple[str, ...]) -> None:
        self.relay = Relay()
        assert self.relay.try_become_leader(), "another relay holds the leader lock on the test database"
        self.consumers = [ConsumerThread(group, batch_size=50, backoff_s=0.05).start() for group in groups]

    def until(
        self,
        predicate: Callable[[], bool],
        *,
        what: str,
        timeout: float = 90.0,
        tick: Callable[[], None] | None = None,
    ) -> None:
        """Publish the outbox (and run `tick`) until `predicate()` holds; fail after `timeout` s (a bound)."""
        deadline = time.monotonic() + timeout
        while True:
            self.relay.drain()
            if tick is not None:
                tick()
            if predicate():
                return
            for consumer in self.consumers:
                assert consumer.error is None, consumer.error
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.05)

    def close(self) -> None:
        for consumer in self.consumers:
            consumer.stop()
        self.relay.close()


@contextmanager
def pipeline(*groups: str) -> Iterator[Pipeline]:
    running = Pipeline(groups)
    try:
        yield running
    finally:
        running.close()


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a `manage.py` child process: this test's database and Kafka prefix."""
    import os

    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "KAFKA_TOPIC_PREFIX": settings.KAFKA_TOPIC_PREFIX,
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        **extra,
    }


def start_manage(*args: str, **env: str) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=child_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def run_python(
    code: str, *, env: dict[str, str] | None = None, timeout: float = 120
) -> "subprocess.CompletedProcess[str]":
    """`code` after django.setup() in a fresh interpreter (a separate worker process)."""
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env={
            **child_env(**(env or {})),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        },
        capture_output=True,
        text=True,
        timeout=timeout,
    )
