"""N consumers of one group share its partitions (cooperative-sticky), and processes started before
Kafka wait for it instead of crash-looping, losing nothing."""

import contextlib
import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from typing import IO

import pytest
from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient
from django.db.models import Count
from django.test import Client, override_settings

from realtime.consumer import topics_for_group
from realtime.kafka_config import admin_config, group_id
from realtime.models import DiagnosticsPing, OutboxEvent
from realtime.relay import backlog
from tests.realtime.conftest import start_manage, wait_for
from tests.realtime.helpers import ConsumerThread, emit_pings

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Output:
    """Collects a child's output lines in a thread, so the test can wait for a line without blocking."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        assert stream is not None
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self.lines.append(raw.decode(errors="replace").rstrip())

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def json_field(self, msg: str, field: str) -> int:
        for line in self.lines:
            if line.startswith("{") and msg in line:
                return int(json.loads(line)[field])
        raise AssertionError(f"no log line {msg!r} in:\n" + "\n".join(self.lines[-30:]))


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=10)


def members(group: str) -> list[set[tuple[str, int]]]:
    """The partitions each member of the (stable) group owns, from the broker's group coordinator."""
    admin = AdminClient(admin_config())
    future = admin.describe_consumer_groups([group_id(group)])[group_id(group)]
    try:
        desc = future.result(timeout=15)
    except Exception:  # coordinator moving or not there yet: not stable, ask again
        return []
    if desc.state != ConsumerGroupState.STABLE:
        return []
    return [{(tp.topic, tp.partition) for tp in m.assignment.topic_partitions} for m in desc.members]


def all_partitions(group: str) -> set[tuple[str, int]] | None:
    """Every partition of the group's topics; None while a topic is not in the metadata yet (seen in a
    full run: a topic created moments before reaches the broker's metadata a little later)."""
    metadata = AdminClient(admin_config()).list_topics(timeout=15)
    topics = topics_for_group(group)
    if any(t not in metadata.topics for t in topics):
        return None
    return {(t, p) for t in topics for p in metadata.topics[t].partitions}


def split_between(n: int, group: str) -> bool:
    owned = members(group)
    everything = all_partitions(group)
    return (
        everything is not None
        and len(owned) == n
        and all(owned)
        and set().union(*owned) == everything
        and sum(len(o) for o in owned) == len(everything)  # disjoint
    )


def assert_each_event_once(ids: list[str]) -> None:
    counts = DiagnosticsPing.objects.values("event_id").annotate(n=Count("id"))
    assert {str(c["event_id"]) for c in counts} == set(ids), "some event had no effect"
    assert max(c["n"] for c in counts) == 1, "some event had two effects"


def test_two_consumer_processes_of_one_group_split_the_partitions_and_handle_each_event_once(
    kafka_prefix: str,
) -> None:
    consumers = [start_manage("consume", "diagnostics", LOG_LEVEL="INFO") for _ in range(2)]
    outputs = [Output(c.stdout) for c in consumers]
    try:
        # (a manage.py process takes up to a minute to start on a loaded 2-core box)
        wait_for(lambda: split_between(2, "diagnostics"), timeout=300, what="both members to own partitions")
        ids = emit_pings(3_000, keys=60, per_tx=300)
        assert start_manage("relay_outbox", "--once").wait(timeout=300) == 0
        wait_for(lambda: DiagnosticsPing.objects.count() >= 3_000, timeout=180, what="every ping handled")
    finally:
        codes = [stop(c) for c in consumers]
    assert codes == [0, 0], "\n".join(outputs[0].lines[-20:] + outputs[1].lines[-20:])
    assert_each_event_once(ids)
    processed = [o.json_field("consumer diagnostics: stopped", "processed") for o in outputs]
    assert all(n > 0 for n in processed), f"both processes handled events: {processed}"
    assert sum(processed) == 3_000, f"each event handled by exactly one of them: {processed}"


def test_cooperative_rebalance_callbacks_track_the_assignment_from_deltas(kafka_prefix: str) -> None:
    """A member joining takes some partitions from the first, which keeps the rest; when it leaves
    they come back. The callbacks see only what moves, so the runner must add and subtract."""
    wait_for(lambda: all_partitions("diagnostics") is not None, timeout=60, what="the topic in the metadata")
    known = all_partitions("diagnostics")
    assert known is not None
    everything = {f"{t}[{p}]" for t, p in known}
    ids = emit_pings(600, keys=30)
    with ConsumerThread("diagnostics") as first:
        wait_for(lambda: set(first.runner.stats.assigned) == everything, timeout=120, what="first owns all")
        with ConsumerThread("diagnostics") as second:

            def split() -> bool:
                a, b = set(first.runner.stats.assigned), set(second.runner.stats.assigned)
                return bool(a) and bool(b) and not (a & b) and a | b == everything

            wait_for(split, timeout=120, what="the second member to take a share, the first to give it")
            assert start_manage("relay_outbox", "--once").wait(timeout=300) == 0
            wait_for(lambda: DiagnosticsPing.objects.count() >= 600, timeout=180, what="pings handled")
        # the second left: its partitions are added back to the first's (not replacing them)
        wait_for(lambda: set(first.runner.stats.assigned) == everything, timeout=120, what="all back")
        more = emit_pings(300, keys=30, start=600)
        assert start_manage("relay_outbox", "--once").wait(timeout=300) == 0
        wait_for(lambda: DiagnosticsPing.objects.count() >= 900, timeout=180, what="later pings handled")
    assert_each_event_once(ids + more)


# --- Kafka unreachable at start ---------------------------------------------------------------------


class Gate:
    """A TCP port that refuses connections until opened, then forwards to a real broker.

    Processes bootstrap through it: while shut, Kafka is unreachable for them; once open, they find
    the cluster through it (and then talk to the brokers' advertised addresses directly).
    """

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self.target = (host, int(port))
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()  # nothing listens here until open()
        self._server: socket.socket | None = None

    def open(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target, timeout=10)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


@pytest.fixture
def gate(settings: pytest.FixtureRequest) -> Iterator[Gate]:
    g = Gate(settings.KAFKA_BOOTSTRAP_SERVERS.split(",")[0])  # type: ignore[attr-defined]
    yield g
    g.close()


def test_processes_started_before_kafka_wait_report_it_and_lose_nothing(
    kafka_prefix: str, gate: Gate, client: Client
) -> None:
    ids = emit_pings(500, keys=20)
    unreachable = f"127.0.0.1:{gate.port}"
    env = {"KAFKA_BOOTSTRAP_SERVERS": unreachable, "LOG_LEVEL": "INFO"}
    processes = [start_manage("relay_outbox", **env), start_manage("consume", "diagnostics", **env)]
    outputs = [Output(p.stdout) for p in processes]
    try:
        # a second round of waiting: still alive and trying, not a crash loop
        wait_for(
            lambda: all(sum("waiting for Kafka" in line for line in o.lines) >= 2 for o in outputs),
            timeout=300,
            what="'waiting for Kafka' twice from each process",
        )
        assert [p.poll() for p in processes] == [None, None], "\n".join(outputs[0].lines + outputs[1].lines)
        with override_settings(KAFKA_BOOTSTRAP_SERVERS=unreachable):
            ready = client.get("/readyz")
        assert ready.status_code == 503
        kafka = ready.json()["dependencies"]["kafka"]
        assert kafka["status"] == "down" and kafka["address"] == unreachable and kafka["error"]
        assert OutboxEvent.objects.count() == 500 and backlog()[0] == 500, "rows kept, none published"

        gate.open()
        wait_for(lambda: DiagnosticsPing.objects.count() >= 500, timeout=240, what="every ping, once up")
        wait_for(lambda: backlog()[0] == 0, timeout=60, what="the relay's backlog empty")
        with override_settings(KAFKA_BOOTSTRAP_SERVERS=unreachable):
            assert client.get("/readyz").json()["dependencies"]["kafka"]["status"] == "ok"
    finally:
        codes = [stop(p) for p in processes]
    assert codes == [0, 0], "\n".join(outputs[0].lines[-20:] + outputs[1].lines[-20:])
    assert_each_event_once(ids)
