"""Where each long-running process kind serves its metrics (stdlib only: ops/ reads it too).

Every process kind gets its own 127.0.0.1 port, `METRICS_PORT_BASE` + an offset, so processes on
one box never collide and the Prometheus config can list them all. A process started with
`METRICS_PORT` set uses that instead (a second copy of a kind, or a kind not listed here); a
kind without a port and without `METRICS_PORT` serves no metrics (e.g. a consumer group a test
runs); `METRICS_PORT_BASE=off` gives no kind a port (the test suite: the processes it starts must
not take the dev system's ports). The web workers are scraped at the web server's own `/metrics` instead.
"""

import os

DEFAULT_PORT_BASE = 59100

OFFSETS: dict[str, int] = {
    "relay": 1,
    "monitor": 2,
    "chainwatch": 3,
    "projector": 4,
    "ws": 5,
    "worker": 6,
    "beat": 7,
    "consume-saga": 10,
    "consume-nft": 11,
    "consume-fulfilment": 12,
    "consume-sales": 13,
    "consume-notify": 14,
}


def port_base() -> int:
    base = os.environ.get("METRICS_PORT_BASE", "")
    return DEFAULT_PORT_BASE if base in ("", "off") else int(base)


def port_for(kind: str) -> int | None:
    """The port `kind` serves its metrics on, or None (no fixed port, no METRICS_PORT)."""
    explicit = os.environ.get("METRICS_PORT", "")
    if explicit:
        return int(explicit)
    if os.environ.get("METRICS_PORT_BASE") == "off":
        return None
    offset = OFFSETS.get(kind)
    return None if offset is None else port_base() + offset


def all_targets() -> dict[str, int]:
    """Every process kind with a fixed port: what the Prometheus config scrapes."""
    return {kind: port_base() + offset for kind, offset in OFFSETS.items()}
