"""Client settings for a cluster: every broker, acks=all + idempotence, cooperative-sticky, SASL/TLS."""

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from django.test import override_settings

from realtime.kafka_config import admin_config, consumer_config, producer_config, reader_config

MANAGED = {
    "KAFKA_BOOTSTRAP_SERVERS": "b-1.example.internal:9096,b-2.example.internal:9096",
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "mintdrop",
    "KAFKA_SASL_PASSWORD": "s3cret",
    "KAFKA_SSL_CA_LOCATION": "/etc/ssl/certs/ca-certificates.crt",
}


def test_producer_waits_for_every_in_sync_replica_and_is_idempotent() -> None:
    conf = producer_config("relay")
    assert conf["acks"] == "all"
    assert conf["enable.idempotence"] is True


def test_consumers_use_cooperative_sticky_assignment() -> None:
    assert consumer_config("saga")["partition.assignment.strategy"] == "cooperative-sticky"


@override_settings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:59092,127.0.0.1:59192,127.0.0.1:59292")
def test_every_client_gets_every_broker() -> None:
    for conf in (admin_config(), producer_config(), consumer_config("saga"), reader_config("audit")):
        assert conf["bootstrap.servers"] == "127.0.0.1:59092,127.0.0.1:59192,127.0.0.1:59292"


def test_local_cluster_gets_no_security_settings() -> None:
    for conf in (admin_config(), producer_config(), consumer_config("saga"), reader_config("audit")):
        assert not {k for k in conf if k.startswith(("security.", "sasl.", "ssl."))}


@override_settings(**MANAGED)
def test_managed_kafka_settings_reach_every_client() -> None:
    for conf in (admin_config(), producer_config(), consumer_config("saga"), reader_config("audit")):
        assert conf["bootstrap.servers"] == MANAGED["KAFKA_BOOTSTRAP_SERVERS"]
        assert conf["security.protocol"] == "SASL_SSL"
        assert conf["sasl.mechanism"] == "SCRAM-SHA-512"
        assert conf["sasl.username"] == "mintdrop"
        assert conf["sasl.password"] == "s3cret"
        assert conf["ssl.ca.location"] == "/etc/ssl/certs/ca-certificates.crt"


@override_settings(**MANAGED)
def test_librdkafka_accepts_the_managed_settings() -> None:
    # librdkafka validates every property when a client is built: a misspelt key or a value it
    # does not support (e.g. a mechanism it was built without) fails here, not in production.
    Producer(producer_config())
    Consumer(consumer_config("saga")).close()
    AdminClient(admin_config())


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # a mechanism alone means SASL over TLS (what managed services offer), PLAIN if unnamed
        ({"KAFKA_SASL_MECHANISM": "plain", "KAFKA_SASL_USERNAME": "u"}, {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}),
        ({"KAFKA_SECURITY_PROTOCOL": "sasl_plaintext", "KAFKA_SASL_USERNAME": "u"}, {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"}),
        # TLS only (e.g. mutual TLS terminated elsewhere): a CA, no SASL keys
        ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CA_LOCATION": "/ca.pem"}, {"security.protocol": "SSL", "ssl.ca.location": "/ca.pem"}),
    ],
)  # fmt: skip
def test_protocol_and_mechanism_defaults(overrides: dict[str, str], expected: dict[str, str]) -> None:
    with override_settings(**overrides):
        conf = admin_config()
    for key, value in expected.items():
        assert conf[key] == value
    if conf["security.protocol"] == "SSL":
        assert "sasl.mechanism" not in conf and "sasl.username" not in conf
