"""A database that does not answer is not a message's fault: the consumer waits, dead-letters nothing.

Found by the chaos suite's PostgreSQL restart (tests/chaos/README.md): with the retry budget spent in
~3 s, an outage longer than that sent every message in flight to the dead-letter topic. Here the
outage is real but local to this test: its own database refuses new sessions (ALLOW_CONNECTIONS
false) while the consumer starts, for as long as the consumer keeps retrying, then accepts them again.
"""

import threading
import time
from typing import Any, cast

import psycopg
import psycopg.sql
import pytest
from confluent_kafka import Message
from django.db import connection

from realtime import offsets
from realtime.consumer import ConsumerRunner, topics_for_group
from realtime.models import DeadLetter, DiagnosticsPing
from realtime.relay import Relay
from tests.realtime.conftest import wait_for
from tests.realtime.helpers import ConsumerThread, emit_pings, envelope, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _allow_connections(allowed: bool) -> None:
    """Flip the test database's ALLOW_CONNECTIONS from the server's maintenance database (PostgreSQL
    refuses it for the database one is connected to); sessions already open are not affected."""
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
                         dbname="postgres", autocommit=True) as admin:  # fmt: skip
        name = psycopg.sql.Identifier(db["NAME"])
        admin.execute(
            psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                name, psycopg.sql.SQL("true" if allowed else "false")
            )
        )


def test_messages_wait_for_a_database_that_refuses_sessions_and_none_is_dead_lettered(
    kafka_prefix: str,
) -> None:
    ids = emit_pings(20, keys=2)
    relay = Relay(batch_size=500)
    assert relay.try_become_leader()
    relay.drain()
    relay.close()
    _allow_connections(False)
    try:
        # A budget the outage outlasts many times over (3 attempts, 10 ms apart).
        with ConsumerThread("diagnostics", backoff_s=0.01, max_attempts=3) as consumer:
            wait_for(lambda: consumer.stats.retries >= 10, what="the consumer to keep retrying while refused")
            assert consumer.stats.processed == 0 and consumer.stats.dead_lettered == 0
            _allow_connections(True)
            wait_for(lambda: DiagnosticsPing.objects.count() >= len(ids), what="the pings to be applied")
            stats = consumer.stop()
    finally:
        _allow_connections(True)
    assert sorted(map(str, DiagnosticsPing.objects.values_list("event_id", flat=True))) == sorted(ids)
    assert stats.dead_lettered == 0 and not DeadLetter.objects.exists()
    assert read_topic("deadletter") == []


# --- processes (re)started or finishing a batch while PostgreSQL restarts (found by make chaos) ----


class _Msg:
    """The three fields `_record_finished` reads from a Kafka message."""

    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self._where = (topic, partition, offset)

    def topic(self) -> str:
        return self._where[0]

    def partition(self) -> int:
        return self._where[1]

    def offset(self) -> int:
        return self._where[2]


def _in_thread(target: Any) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def test_a_relay_started_while_the_database_refuses_sessions_waits_then_publishes(kafka_prefix: str) -> None:
    ids = emit_pings(5, keys=2)
    stop = threading.Event()
    relay = Relay(batch_size=500, idle_poll_s=0.1)
    _allow_connections(False)
    try:
        thread, errors = _in_thread(lambda: relay.run(stop=stop))
        time.sleep(2.5)  # several of its 1 s retries
        assert thread.is_alive() and not errors, errors  # the old code raised at its first connect
    finally:
        _allow_connections(True)
    try:
        wait_for(lambda: relay.stats.published >= len(ids), what="the relay to publish once admitted")
    finally:
        stop.set()
        thread.join(30)
    assert not errors, errors
    published = {envelope(m)["id"] for m in read_topic("diagnostics")}
    assert set(ids) <= published


def test_offsets_of_messages_without_an_effect_wait_for_a_refusing_database(kafka_prefix: str) -> None:
    runner = ConsumerRunner("diagnostics", backoff_s=0.01, max_attempts=2)
    topic = topics_for_group("diagnostics")[0]
    _allow_connections(False)
    try:
        connection.close()
        thread, errors = _in_thread(lambda: runner._record_finished([cast(Message, _Msg(topic, 0, 41))]))
        wait_for(lambda: runner.stats.retries >= 5, what="the offsets write to keep waiting")
        assert thread.is_alive() and not errors, errors  # the old code raised OperationalError
    finally:
        _allow_connections(True)
    thread.join(30)
    runner.consumer.close()
    assert not thread.is_alive() and not errors, errors
    state = offsets.stored("diagnostics", [(topic, 0)])[(topic, 0)]
    assert state.next_offset == 42
