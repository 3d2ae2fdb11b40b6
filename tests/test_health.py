"""/healthz and /readyz, and the one-line errors for a service that is down."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings


def test_healthz_is_cheap_and_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_dependency_green(client: Client) -> None:
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["dependencies"]) == {"postgres", "redis", "kafka", "anvil", "stripe-mock", "mailpit"}
    for dep in body["dependencies"].values():
        assert dep["status"] == "ok"
        assert dep["latency_ms"] >= 0


@pytest.mark.django_db
@override_settings(REDIS_URL="redis://127.0.0.1:1/0", CHAIN_RPC_URL="http://127.0.0.1:1")
def test_readyz_is_503_naming_the_down_services(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    deps = response.json()["dependencies"]
    assert deps["redis"]["status"] == "down" and deps["anvil"]["status"] == "down"
    assert deps["postgres"]["status"] == "ok"


@pytest.mark.django_db
@override_settings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
def test_check_services_gives_one_line_naming_the_service_and_its_start_command() -> None:
    with pytest.raises(CommandError) as info:
        call_command("check_services")
    lines = str(info.value).splitlines()
    assert lines == [
        "mintdrop: kafka is not reachable at 127.0.0.1:1 ([Errno 111] Connection refused)"
        " — start it with: ops/start kafka"
    ]


def test_api_404_uses_the_error_shape(client: Client) -> None:
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_readyz_kafka_is_up_when_any_listed_broker_answers(client: Client, settings: object) -> None:
    live = settings.KAFKA_BOOTSTRAP_SERVERS  # type: ignore[attr-defined]
    with override_settings(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:1,{live}"):
        kafka = client.get("/readyz").json()["dependencies"]["kafka"]
    assert kafka["status"] == "ok", kafka


@pytest.mark.django_db
@override_settings(KAFKA_MIN_INSYNC_REPLICAS=99)
def test_readyz_kafka_is_down_with_fewer_brokers_up_than_a_write_needs(client: Client) -> None:
    response = client.get("/readyz")
    kafka = response.json()["dependencies"]["kafka"]
    assert response.status_code == 503
    assert kafka["status"] == "down"
    assert "broker(s) up, writes need 99 in sync (KAFKA_MIN_INSYNC_REPLICAS)" in kafka["error"]
