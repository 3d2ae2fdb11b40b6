"""`kafka_topics` against the real broker: a wrong replication factor / min.insync.replicas is named,
and `--check` fails on it (on one broker and on the 3-broker cluster alike)."""

import os
import uuid
from collections.abc import Iterator
from io import StringIO

import pytest
from confluent_kafka.admin import AdminClient
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from realtime.kafka_config import admin_config
from realtime.topic_admin import TopicPlan, ensure_topics, plan
from realtime.topics import TOPICS
from tests.realtime.conftest import wait_for

pytestmark = [pytest.mark.integration]


@pytest.fixture
def thin_topics(settings: pytest.FixtureRequest) -> Iterator[str]:
    """This test's topics created with ONE copy each and min.insync.replicas=1."""
    prefix = f"{os.environ['KAFKA_TOPIC_PREFIX']}{uuid.uuid4().hex[:6]}."
    settings.KAFKA_TOPIC_PREFIX = prefix  # type: ignore[attr-defined]
    with override_settings(KAFKA_REPLICATION_FACTOR=1, KAFKA_MIN_INSYNC_REPLICAS=1):
        ensure_topics()
        # A created topic reaches every broker's metadata a moment later (seen in CI under load): the
        # checks below must see it existing, not planned for creation.
        wait_for(
            lambda: not any(p.create for p in plan()), timeout=60, what="the thin topics in the metadata"
        )
    yield prefix
    AdminClient(admin_config()).delete_topics([f"{prefix}{t.name}" for t in TOPICS], operation_timeout=10)


def run_check() -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("kafka_topics", "--check", stdout=out, stderr=StringIO())
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_check_passes_when_the_broker_matches(kafka_prefix: str) -> None:
    out, error = run_check()
    assert error is None, out
    assert out.strip().endswith("topics up to date")


@override_settings(KAFKA_REPLICATION_FACTOR=3, KAFKA_MIN_INSYNC_REPLICAS=2)
def test_wrong_replication_factor_and_min_insync_are_named_and_check_fails(thin_topics: str) -> None:
    out, error = run_check()
    assert error is not None, out
    assert f"{len(TOPICS)} topic(s) differ" in str(error)
    drops = f"{thin_topics}drops"
    lines = [line for line in out.splitlines() if f" {drops}:" in line]
    assert f"! {drops}: replication factor 1, declared 3 (KAFKA_REPLICATION_FACTOR); Kafka changes it only by reassigning partitions" in "\n".join(lines)  # fmt: skip
    assert f"~ {drops}: min.insync.replicas 1 -> 2" in lines
    assert f"! {drops}: fewer replicas (1) than min.insync.replicas 2 (KAFKA_MIN_INSYNC_REPLICAS): every acks=all write to it fails" in lines  # fmt: skip


@override_settings(KAFKA_REPLICATION_FACTOR=3, KAFKA_MIN_INSYNC_REPLICAS=2)
def test_apply_fixes_min_insync_but_still_reports_the_replication_factor(thin_topics: str) -> None:
    out = StringIO()
    err = StringIO()
    call_command("kafka_topics", "--apply", stdout=out, stderr=err)
    assert f"applied changes to {len(TOPICS)} topic(s)" in out.getvalue()
    assert "have problems --apply does not fix" in err.getvalue()

    def drops() -> TopicPlan:
        return next(p for p in plan() if p.topic.name == "drops")

    # the brokers serve a config change once the controller's metadata reaches them
    wait_for(lambda: not drops().config_changes, timeout=60, what="min.insync.replicas=2 on the broker")
    assert any("replication factor 1, declared 3" in w for w in drops().warnings)


def test_a_topic_the_cluster_cannot_hold_is_named_before_create(settings: pytest.FixtureRequest) -> None:
    settings.KAFKA_TOPIC_PREFIX = f"{os.environ['KAFKA_TOPIC_PREFIX']}{uuid.uuid4().hex[:6]}."  # type: ignore[attr-defined]
    brokers = len(AdminClient(admin_config()).list_topics(timeout=15).brokers)
    with override_settings(KAFKA_REPLICATION_FACTOR=brokers + 1):
        drops = next(p for p in plan() if p.topic.name == "drops")
    assert drops.create
    assert drops.warnings == [
        f"cannot be created with replication factor {brokers + 1} (KAFKA_REPLICATION_FACTOR): "
        f"only {brokers} broker(s) in the cluster"
    ]
