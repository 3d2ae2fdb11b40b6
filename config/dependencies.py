"""The real services mintdrop depends on, and a cheap probe of each (for /readyz and the CLI)."""

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool
    latency_ms: float
    address: str
    error: str = ""

    def hint(self) -> str:
        """One line for a person: what is down and the command that starts it."""
        return f"mintdrop: {self.name} is not reachable at {self.address} ({self.error}) — start it with: ops/start {self.name}"


def _host_port(url: str, default_port: int) -> str:
    parts = urlsplit(url if "//" in url else f"//{url}")
    return f"{parts.hostname}:{parts.port or default_port}"


def _postgres() -> None:
    # A direct connection, not Django's: probes run in short-lived threads (and before pytest-django
    # allows database access), and must not leave connections behind.
    import psycopg

    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db.get("HOST") or "localhost",
        port=db.get("PORT") or 5432,
        dbname=db["NAME"],
        user=db.get("USER"),
        password=db.get("PASSWORD"),
        connect_timeout=max(1, int(settings.HEALTH_CHECK_TIMEOUT)),
    ) as conn:
        conn.execute("SELECT 1")


def _redis() -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=settings.HEALTH_CHECK_TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()


def _kafka() -> None:
    from confluent_kafka.admin import AdminClient

    from realtime.kafka_config import admin_config

    admin = AdminClient({**admin_config(), "log_level": 0})
    metadata = admin.list_topics(timeout=settings.HEALTH_CHECK_TIMEOUT)
    # acks=all writes need KAFKA_MIN_INSYNC_REPLICAS brokers: with fewer up, nothing can be published.
    needed = settings.KAFKA_MIN_INSYNC_REPLICAS
    if len(metadata.brokers) < needed:
        raise ConnectionError(
            f"{len(metadata.brokers)} broker(s) up, writes need {needed} in sync (KAFKA_MIN_INSYNC_REPLICAS)"
        )


def _http_json(url: str, body: dict[str, object] | None = None, headers: dict[str, str] | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    # Only http(s) URLs from settings reach here, never user input.
    request = urllib.request.Request(  # noqa: S310
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.HEALTH_CHECK_TIMEOUT) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:  # an HTTP answer means the service is up
        return exc.code


def _chain() -> None:
    status = _http_json(
        settings.CHAIN_RPC_URL, {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    )
    if status >= 500:
        raise ConnectionError(f"HTTP {status}")


def _stripe() -> None:
    url = settings.STRIPE_API_BASE.rstrip("/") + "/v1/payment_intents?limit=1"
    status = _http_json(url, headers={"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"})
    if status >= 500:
        raise ConnectionError(f"HTTP {status}")


def _smtp() -> None:
    # The SMTP greeting (220) proves a mail server answers; nothing is sent.
    import smtplib

    server = smtplib.SMTP(settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=settings.HEALTH_CHECK_TIMEOUT)
    try:
        server.noop()
    finally:
        server.close()


def _address(name: str) -> str:
    db = settings.DATABASES["default"]
    return {
        "postgres": f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}",
        "redis": _host_port(settings.REDIS_URL, 6379),
        "kafka": settings.KAFKA_BOOTSTRAP_SERVERS,
        "anvil": _host_port(settings.CHAIN_RPC_URL, 8545),
        "stripe-mock": _host_port(settings.STRIPE_API_BASE, 443),
        "mailpit": f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}",
    }[name]


# Names match the `ops/start <name>` that runs each one locally.
PROBES: dict[str, Callable[[], None]] = {
    "postgres": _postgres,
    "redis": _redis,
    "kafka": _kafka,
    "anvil": _chain,
    "stripe-mock": _stripe,
    "mailpit": _smtp,  # any SMTP server in production; `ops/start mailpit` locally
}


def _quick_tcp_check(addresses: str) -> None:
    """One of the comma-separated host:port answers TCP (any bootstrap broker of a cluster will do)."""
    errors = []
    for address in addresses.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=settings.HEALTH_CHECK_TIMEOUT):
                return
        except OSError as exc:
            errors.append(f"{address.strip()}: {exc}" if "," in addresses else str(exc))
    raise ConnectionError("; ".join(errors))


def probe(name: str) -> ProbeResult:
    """Probe one dependency; never raises."""
    address = _address(name)
    started = time.perf_counter()
    try:
        # A refused TCP connection answers at once; librdkafka would otherwise retry until its timeout.
        _quick_tcp_check(address)
        PROBES[name]()
    except Exception as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return ProbeResult(
            name, False, round((time.perf_counter() - started) * 1000, 1), address, message[:200]
        )
    return ProbeResult(name, True, round((time.perf_counter() - started) * 1000, 1), address)


def probe_all(names: list[str] | None = None) -> list[ProbeResult]:
    """Probe dependencies in parallel, so /readyz costs the slowest one, not the sum."""
    selected = names or list(PROBES)
    with ThreadPoolExecutor(max_workers=len(selected)) as pool:
        return list(pool.map(probe, selected))
