"""Round trips against each real service that `ops/start` runs (no mocks)."""

import threading
import uuid

import pytest
import redis
import stripe
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings
from django.db import connection, transaction
from web3 import Web3
from web3.types import Wei

pytestmark = pytest.mark.integration


def test_kafka_produce_and_consume_round_trip() -> None:
    topic = f"{settings.KAFKA_TOPIC_PREFIX}roundtrip.{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(timeout=20)

    producer = Producer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "enable.idempotence": True})
    delivered: list[str] = []
    producer.produce(topic, key=b"k", value=b"hello", on_delivery=lambda err, msg: delivered.append(str(err)))
    assert producer.flush(15) == 0
    assert delivered == ["None"]

    consumer = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"{settings.KAFKA_TOPIC_PREFIX}roundtrip",
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.subscribe([topic])
        message = None
        for _ in range(30):
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                break
        assert message is not None and message.error() is None
        assert (message.key(), message.value()) == (b"k", b"hello")
    finally:
        consumer.close()
        admin.delete_topics([topic])


@pytest.mark.django_db(transaction=True)
def test_postgres_transaction_commits_and_rolls_back() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE probe (n int)")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO probe VALUES (1)")
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO probe VALUES (2)")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(n) FROM probe")
        row = cursor.fetchone()
    assert row is not None and row[0] == [1]


@pytest.mark.django_db(transaction=True)
def test_postgres_row_lock_blocks_a_second_connection() -> None:
    """Two real connections: SELECT ... FOR UPDATE NOWAIT on a locked row fails in the other."""
    from django.db import OperationalError, connections

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS lock_probe (id int primary key)")
        cursor.execute("INSERT INTO lock_probe VALUES (1) ON CONFLICT DO NOTHING")
    errors: list[str] = []

    def other() -> None:
        try:
            with transaction.atomic(), connections["default"].cursor() as cursor:
                cursor.execute("SELECT id FROM lock_probe WHERE id = 1 FOR UPDATE NOWAIT")
        except OperationalError as exc:
            errors.append(type(exc).__name__)
        finally:
            connections.close_all()

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM lock_probe WHERE id = 1 FOR UPDATE")
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
    assert errors == ["OperationalError"]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE lock_probe")


def test_redis_set_get() -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = f"test:{uuid.uuid4().hex}"
    client.set(key, "v", ex=10)
    assert client.get(key) == b"v"
    client.delete(key)


def test_anvil_chain_id_and_a_transfer() -> None:
    w3 = Web3(Web3.HTTPProvider(settings.CHAIN_RPC_URL))
    assert w3.eth.chain_id == settings.CHAIN_ID
    accounts = list(w3.eth.accounts)
    sender, receiver = accounts[0], accounts[9]
    before = w3.eth.get_balance(receiver)
    tx_hash = w3.eth.send_transaction({"from": sender, "to": receiver, "value": Wei(12345)})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=20)
    assert receipt["status"] == 1
    assert w3.eth.get_balance(receiver) == before + 12345


def test_stripe_mock_creates_a_payment_intent() -> None:
    client = stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE})
    intent = client.v1.payment_intents.create(
        params={"amount": 2500, "currency": "usd", "metadata": {"order_id": "42"}},
        options={"idempotency_key": f"test-{uuid.uuid4()}"},
    )
    assert intent.id.startswith("pi_")
    assert intent.object == "payment_intent"
    assert intent.client_secret
