"""Every metric a mintdrop process records itself (the system-wide gauges are in collectors.py).

Names follow Prometheus conventions (`_total` counters, `_seconds` units); labels are bounded
sets (route templates, error codes, group names), never ids or raw paths. Recording goes through
the small helpers at the bottom, which do nothing when `MINTDROP_METRICS=0`.

In the web and Celery worker processes (several processes each) `PROMETHEUS_MULTIPROC_DIR` is
set (ops/with-metrics-dir): the values then live in per-process files that one scrape sums up.
"""

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from monitoring.switch import ENABLED

# `*_created` series double every counter's series for a figure no alert or graph here uses.
disable_created_metrics()

# Latency buckets from 2.5 ms (a sold-out answer from memory) to 10 s (a slow Stripe call).
HTTP_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONFIRMATION_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

# --- web ---------------------------------------------------------------------------------------
HTTP_DURATION = Histogram(
    "mintdrop_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=HTTP_BUCKETS,
)
HTTP_RESPONSES = Counter(
    "mintdrop_http_responses_total",
    "HTTP responses by route template and status.",
    ["method", "route", "status"],
)
RESERVATIONS = Counter(
    "mintdrop_reservations_total",
    "Reservation attempts by outcome: reserved, or the refusal's error code (sold_out, limit_exceeded, ...).",
    ["outcome"],
)
WEBHOOKS = Counter(
    "mintdrop_webhook_events_total",
    "Webhook deliveries by provider and outcome (accepted, duplicate, ignored, or the error code).",
    ["provider", "outcome"],
)

# --- event backbone ----------------------------------------------------------------------------
RELAY_PUBLISHED = Counter("mintdrop_relay_published_total", "Outbox rows published to Kafka by the relay.")
RELAY_FAILED = Counter("mintdrop_relay_failed_deliveries_total", "Outbox rows Kafka refused (retried later).")
RELAY_BATCH = Histogram(
    "mintdrop_relay_batch_seconds",
    "Time of one relay round (fetch, produce, flush, mark).",
    buckets=HTTP_BUCKETS,
)
CONSUMER_EVENTS = Counter(
    "mintdrop_consumer_events_total",
    "Events a consumer group handled, by outcome (processed, duplicate, skipped, retried, dead_lettered).",
    ["group", "outcome"],
)
DEAD_LETTERS = Counter(
    "mintdrop_dead_letters_total",
    "Messages sent to the dead-letter topic, by group and error code.",
    ["group", "code"],
)

# --- checkout saga -----------------------------------------------------------------------------
SAGA_STEPS = Counter(
    "mintdrop_saga_steps_total", "Checkout saga timeline entries by step and outcome.", ["step", "outcome"]
)

# --- chain -------------------------------------------------------------------------------------
TX_REPLACED = Counter(
    "mintdrop_chain_tx_replaced_total", "Transactions replaced by a fee-bumped copy, by kind.", ["kind"]
)
TX_CONFIRMATION = Histogram(
    "mintdrop_chain_tx_confirmation_seconds",
    "From signing a transaction to its confirmation at the configured depth.",
    ["kind"],
    buckets=CONFIRMATION_BUCKETS,
)
CHAINWATCH_HEAD = Gauge(
    "mintdrop_chainwatch_head_block",
    "Latest block number the chain watcher processed.",
    multiprocess_mode="max",
)

# --- WebSockets --------------------------------------------------------------------------------
WS_CONNECTIONS = Gauge(
    "mintdrop_ws_connections", "Open WebSocket connections of this ws process.", multiprocess_mode="livesum"
)
WS_FRAMES = Counter("mintdrop_ws_frames_total", "Frames fanned out to sockets (one per socket per frame).")
WS_RESYNCS = Counter("mintdrop_ws_resyncs_total", "Sockets sent a fresh snapshot because frames were missed.")

# --- notifications -----------------------------------------------------------------------------
NOTIFICATIONS = Counter(
    "mintdrop_notifications_total", "E-mails by outcome (sent, failed = retried later, dead).", ["outcome"]
)


# Label values an alert watches exist from the start at 0: `increase()` over a series that appears
# at its first event (already at 1) sees no increase.
for _outcome in ("accepted", "duplicate", "ignored", "invalid_signature", "malformed_event"):
    WEBHOOKS.labels("stripe", _outcome)
for _outcome in ("reserved", "sold_out"):
    RESERVATIONS.labels(_outcome)
for _outcome in ("sent", "failed", "dead"):
    NOTIFICATIONS.labels(_outcome)


# --- recording helpers (no-ops when metrics are off) -------------------------------------------
def count_reservation(outcome: str) -> None:
    if ENABLED:
        RESERVATIONS.labels(outcome).inc()


def count_webhook(provider: str, outcome: str) -> None:
    if ENABLED:
        WEBHOOKS.labels(provider, outcome).inc()


def count_consumer(group: str, outcome: str, n: int = 1) -> None:
    if ENABLED and n:
        CONSUMER_EVENTS.labels(group, outcome).inc(n)


def count_dead_letter(group: str, code: str) -> None:
    if ENABLED:
        DEAD_LETTERS.labels(group, code).inc()


def count_saga_step(step: str, outcome: str) -> None:
    if ENABLED:
        SAGA_STEPS.labels(step, outcome).inc()


def count_tx_replaced(kind: str) -> None:
    if ENABLED:
        TX_REPLACED.labels(kind).inc()


def observe_confirmation(kind: str, seconds: float) -> None:
    if ENABLED:
        TX_CONFIRMATION.labels(kind).observe(max(seconds, 0.0))


def set_chainwatch_head(number: int) -> None:
    if ENABLED:
        CHAINWATCH_HEAD.set(number)


def ws_connected(delta: int) -> None:
    if ENABLED:
        WS_CONNECTIONS.inc(delta)


def count_ws_frames(n: int) -> None:
    if ENABLED and n:
        WS_FRAMES.inc(n)


def count_ws_resync(n: int = 1) -> None:
    if ENABLED and n:
        WS_RESYNCS.inc(n)


def count_notification(outcome: str) -> None:
    if ENABLED:
        NOTIFICATIONS.labels(outcome).inc()


def count_relay(published: int, failed: int, seconds: float) -> None:
    if ENABLED:
        RELAY_PUBLISHED.inc(published)
        if failed:
            RELAY_FAILED.inc(failed)
        RELAY_BATCH.observe(seconds)
