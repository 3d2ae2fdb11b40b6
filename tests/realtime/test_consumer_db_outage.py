"""A database that does not answer is not a message's fault: the consumer waits, dead-letters nothing.

Found by the chaos suite's PostgreSQL restart (tests/chaos/README.md): with the retry budget spent in
~3 s, an outage longer than that sent every message in flight to the dead-letter topic. Here the
outage is real but local to this test: its own database refuses new sessions (ALLOW_CONNECTIONS
false) while the consumer starts, for as long as the consumer keeps retrying, then accepts them again.
"""

import psycopg
import psycopg.sql
import pytest
from django.db import connection

from realtime.models import DeadLetter, DiagnosticsPing
from realtime.relay import Relay
from tests.realtime.conftest import wait_for
from tests.realtime.helpers import ConsumerThread, emit_pings, read_topic

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
