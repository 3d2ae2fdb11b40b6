"""Trace context through the backbone: outbox row -> envelope + Kafka header -> relay span -> consumer span.

Real PostgreSQL and Kafka; spans are recorded in memory in this process (the Jaeger round trip is
tests/integration/test_purchase_trace.py).
"""

import json
import logging
import uuid
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer

from config.logging import JsonFormatter
from realtime import tracing
from realtime.events import Event
from realtime.kafka_config import producer_config
from realtime.models import DiagnosticsPing, OutboxEvent
from realtime.relay import Relay
from realtime.topics import topic_named
from tests.realtime.conftest import wait_for
from tests.realtime.helpers import ConsumerThread, emit_pings, envelope, headers_of, read_topic
from tests.tracing import recording_spans, span_hex, trace_hex, traceparent

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # no flags
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero span id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # v00 has no more fields
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  # not hex
        "x" * 10_000,
        None,
        42,
    ],
)
def test_a_malformed_traceparent_is_no_parent(value: object) -> None:
    assert tracing.parse_traceparent(value) is None


def test_a_valid_traceparent_parses_and_a_later_version_may_add_fields() -> None:
    ctx = tracing.parse_traceparent(VALID)
    assert ctx is not None and ctx.is_remote and ctx.is_valid
    assert format(ctx.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert (
        tracing.parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what") is not None
    )


def test_with_tracing_off_nothing_is_recorded_and_the_envelope_has_no_traceparent(
    kafka_prefix: str, transactional_db: None
) -> None:
    assert not tracing.enabled()
    with tracing.span("ignored") as span:
        assert span is None
    emit_pings(1, keys=1)
    row = OutboxEvent.objects.get()
    assert row.traceparent == "" and len(row.trace_id) == 32
    relay = Relay(batch_size=10)
    assert relay.try_become_leader() and relay.drain() == 1
    relay.close()
    [msg] = read_topic("diagnostics")
    assert "traceparent" not in envelope(msg) and "traceparent" not in headers_of(msg)


@pytest.mark.integration
def test_one_trace_from_the_emitting_span_through_relay_and_consumer(
    kafka_prefix: str, transactional_db: None
) -> None:
    with recording_spans() as spans:
        with tracing.span("request") as root:
            assert root is not None
            emit_pings(1, keys=1)
        request = spans.one("request")
        row = OutboxEvent.objects.get()
        assert row.traceparent == traceparent(request) and row.trace_id == trace_hex(request)

        relay = Relay(batch_size=10)
        assert relay.try_become_leader() and relay.drain() == 1
        relay.close()
        publish = spans.one("publish diagnostics.ping")
        assert publish.parent is not None and publish.parent.span_id == request.context.span_id
        assert trace_hex(publish) == trace_hex(request)

        [msg] = read_topic("diagnostics")
        assert envelope(msg)["traceparent"] == traceparent(request)  # who emitted it
        assert headers_of(msg)["traceparent"] == traceparent(publish)  # the hop through Kafka

        with ConsumerThread("diagnostics") as consumer:
            wait_for(lambda: consumer.lag() == 0, what="consumer to catch up")
            consumer.stop()
        assert DiagnosticsPing.objects.count() == 1
        handled = spans.one("diagnostics diagnostics.ping")
        assert handled.parent is not None and handled.parent.span_id == publish.context.span_id
        assert trace_hex(handled) == trace_hex(request)
        starts = [s.start_time or 0 for s in (request, publish, handled)]
        assert starts == sorted(starts) and 0 not in starts


def _raw_ping(*, traceparent: str | None, header: str | None) -> bytes:
    doc = Event(
        type="diagnostics.ping", key="k0", payload={"seq": 0, "sent_at": datetime.now(UTC).isoformat()}
    ).to_dict()
    if traceparent is not None:
        doc["traceparent"] = traceparent
    producer = Producer(producer_config("test"))
    producer.produce(
        topic_named("diagnostics").full_name,
        key=b"k0",
        value=json.dumps(doc).encode(),
        headers=[("traceparent", header.encode())] if header is not None else [],
    )
    assert producer.flush(30) == 0
    return doc["id"].encode()


@pytest.mark.integration
def test_an_event_with_missing_or_garbage_trace_context_starts_a_new_trace_and_is_handled(
    kafka_prefix: str, transactional_db: None
) -> None:
    with recording_spans() as spans:
        _raw_ping(traceparent=None, header=None)
        _raw_ping(traceparent="garbage", header="00-not-a-traceparent-01")
        _raw_ping(traceparent="00-00000000000000000000000000000000-00f067aa0ba902b7-01", header=None)
        with ConsumerThread("diagnostics") as consumer:
            wait_for(lambda: consumer.lag() == 0, what="consumer to catch up")
            stats = consumer.stop()
        assert stats.processed == 3 and stats.dead_lettered == 0
        assert DiagnosticsPing.objects.count() == 3
        handled = spans.named("diagnostics diagnostics.ping")
        assert len(handled) == 3
        assert all(s.parent is None for s in handled)  # each one a root: a new trace
        assert len({trace_hex(s) for s in handled}) == 3


def test_json_log_lines_carry_the_active_trace_and_span_ids() -> None:
    formatter = JsonFormatter()

    def line() -> dict[str, object]:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello %s", ("x",), None)
        doc: dict[str, object] = json.loads(formatter.format(record))
        return doc

    assert line()["trace_id"] is None and line()["span_id"] is None
    with tracing.trace("abc123"):  # tracing off: the plain trace id of the event being handled
        assert line()["trace_id"] == "abc123"
    with recording_spans() as spans:
        with tracing.span("work", parent=VALID):
            doc = line()
        work = spans.one("work")
        assert doc["trace_id"] == trace_hex(work) == VALID[3:35]
        assert doc["span_id"] == span_hex(work)
        assert doc["msg"] == "hello x"


def test_unique_ids_do_not_leak_between_traces() -> None:
    with recording_spans() as spans:
        for _ in range(3):
            with tracing.span("root", parent=""):
                pass
        assert len({trace_hex(s) for s in spans.named("root")}) == 3
    assert uuid.UUID(tracing.current_trace_id())  # off again: a fresh plain id
