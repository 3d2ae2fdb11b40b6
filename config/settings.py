"""Settings read from the environment (12-factor) with safe local defaults.

Every variable is listed in `.env.example`. The local defaults point at the services that
`ops/start` runs on 127.0.0.1; production sets every one of them explicitly.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Django core -----------------------------------------------------------------------------
# "production" turns on the production profile: secure defaults below, and a refusal to start with
# any development secret, DEBUG or the demo payment endpoints (config/production.py).
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}.")
PRODUCTION = DJANGO_ENV == "production"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-secret-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# No "daphne" app: it only swaps `runserver` for an ASGI one (nobody runs it: `make dev` serves WSGI with
# granian and the sockets with realtime.ws.serve), and importing it loads Twisted into every process
# (~2 s of CPU per Django process start on these cores; the test suite starts hundreds).
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",  # expiring, revocable API tokens (only their digests are stored)
    "drf_spectacular",
    "channels",
    "realtime",
    "realtime.ws",  # live WebSockets: consumers, fan-out hub, `manage.py project_live`
    "commerce",
    "commerce.payments",
    "nft",
    "frontend",
    "commerce.waiting_room",  # per-drop waiting room (label `waiting_room`): queue, lottery, admissions
    "commerce.shows",  # live shows (label `shows`): video, pins, flash drops, chat, venue feed
    "notifications",  # e-mail + in-app notifications from the event log; account mail
    "commerce.abuse",  # label `abuse`: throttles, identity limits at payment, velocity flags, blocks
    "commerce.auctions",  # label `auctions`: live auctions and giveaways of a show
]

MIDDLEWARE = [
    "config.tracing_middleware.TracingMiddleware",  # first: its span covers the whole request; removes itself when tracing is off
    "django.middleware.security.SecurityMiddleware",
    "config.security_headers.SecurityHeadersMiddleware",  # Content-Security-Policy, Permissions-Policy
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.api_errors.DatabaseUnavailableMiddleware",  # 503 + Retry-After when the database is away
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- PostgreSQL ------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres://mintdrop:mintdrop@127.0.0.1:55432/mintdrop"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_LEAN_HEALTH_CHECK", default=True
):
    # The same backend, whose health check polls the socket instead of a SELECT 1 round trip.
    DATABASES["default"]["ENGINE"] = "config.db.postgresql"
DATABASES["default"].setdefault("OPTIONS", {})
if DATABASES["default"]["ENGINE"].endswith("postgresql") and not env.bool("DATABASE_JIT", default=False):
    # Short OLTP statements only: JIT compiling is for long analytical queries, and set-returning
    # functions (jsonb_to_recordset: 100 rows assumed) lift our batch statements' estimated cost
    # past jit_above_cost; the relay's window query then spent 17 ms compiling for 0.7 ms of work.
    _pg_options = DATABASES["default"]["OPTIONS"].get("options", "")
    DATABASES["default"]["OPTIONS"]["options"] = f"{_pg_options} -c jit=off".strip()
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Prepared statements for the hot paths' own cursors (config/db/prepared.py); Django's ORM
    # cursors bind on the client and are never prepared. Off for a transaction-mode pooler.
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = (
        env.int("DATABASE_PREPARE_THRESHOLD", default=5)
        if env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
        else None
    )
DATABASES["default"]["TEST"] = {"NAME": env.str("DATABASE_TEST_NAME", default="test_mintdrop")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / ".local/staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns at start-up when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Static assets come from npm packages installed by ops/ (no CDN at run time).
NODE_MODULES_DIR = Path(env.str("NODE_MODULES_DIR", default=str(BASE_DIR / ".local/tools/node/node_modules")))

LOGIN_URL = "/login/"

# --- Redis: cache, Channels layer, Celery broker -----------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:56379/0")
# One redis-py client per pool, not one per cache call (config/cache.py).
CACHES = {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL}}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, "max_connections": 1000}]},
    }
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# --- Kafka ---------------------------------------------------------------------------------------
# Every broker of the cluster, comma-separated (`KAFKA_BROKERS=3` in ops/env.sh lists the three).
KAFKA_BOOTSTRAP_SERVERS = env.str("KAFKA_BOOTSTRAP_SERVERS", default="127.0.0.1:59092")
# A managed Kafka (README "Running against a managed Kafka"): SASL and/or TLS, passed to every client
# by realtime/kafka_config.py. Empty = the local PLAINTEXT cluster.
KAFKA_SECURITY_PROTOCOL = env.str("KAFKA_SECURITY_PROTOCOL", default="")  # SASL_SSL, SSL, SASL_PLAINTEXT
KAFKA_SASL_MECHANISM = env.str("KAFKA_SASL_MECHANISM", default="")  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
KAFKA_SASL_USERNAME = env.str("KAFKA_SASL_USERNAME", default="")
KAFKA_SASL_PASSWORD = env.str("KAFKA_SASL_PASSWORD", default="")
KAFKA_SSL_CA_LOCATION = env.str("KAFKA_SSL_CA_LOCATION", default="")  # CA bundle (PEM); empty = system CAs
# Prefix for every topic and consumer group, so test runs and environments never share state.
KAFKA_TOPIC_PREFIX = env.str("KAFKA_TOPIC_PREFIX", default="mintdrop.")
OUTBOX_RETENTION_HOURS = env.int("OUTBOX_RETENTION_HOURS", default=72)

# --- realtime: event backbone (relay, consumer runner, replay, audit) -------------------------
# Copies of each partition, and how many must be in sync for a write (producers use acks=all):
# 3 and 2 on a cluster of 3 brokers (ops/env.sh derives both from KAFKA_BROKERS), 1 and 1 locally.
KAFKA_REPLICATION_FACTOR = env.int("KAFKA_REPLICATION_FACTOR", default=1)
KAFKA_MIN_INSYNC_REPLICAS = env.int("KAFKA_MIN_INSYNC_REPLICAS", default=1)
# Relay: rows per produce/flush/mark round; poll interval when no NOTIFY arrives (fallback only).
RELAY_BATCH_SIZE = env.int("RELAY_BATCH_SIZE", default=1000)
RELAY_IDLE_POLL_SECONDS = env.float("RELAY_IDLE_POLL_SECONDS", default=0.5)
# `snapshot`: publish by transaction visibility, no per-row update, several relays by outbox
# partition; `mark`: the earlier single-leader relay that marks each row (realtime/relay.py).
RELAY_MODE = env.str("RELAY_MODE", default="snapshot")
# Consumer runner: messages per database transaction; attempts and first backoff for retriable errors.
CONSUMER_BATCH_SIZE = env.int("CONSUMER_BATCH_SIZE", default=500)
CONSUMER_MAX_ATTEMPTS = env.int("CONSUMER_MAX_ATTEMPTS", default=5)
CONSUMER_BACKOFF_SECONDS = env.float("CONSUMER_BACKOFF_SECONDS", default=0.2)
# Exactly-once by offsets committed with the effects (realtime_consumeroffset); these groups also
# write an inbox row per event (their effects leave the database, see realtime/consumer.py).
# "*" = every group (the earlier design, for bench/pipeline.py's comparison).
CONSUMER_INBOX_GROUPS = env.list("CONSUMER_INBOX_GROUPS", default=["saga", "nft", "notify"])
# Where `manage.py audit` writes its JSON + CSV reports unless --out is given.
AUDIT_REPORT_DIR = env.str("AUDIT_REPORT_DIR", default=str(BASE_DIR / ".local/reports"))

# --- EVM chain ---------------------------------------------------------------------------------
CHAIN_RPC_URL = env.str("CHAIN_RPC_URL", default="http://127.0.0.1:58545")
CHAIN_ID = env.int("CHAIN_ID", default=31337)
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", default=2)
# "confirmations": final at CHAIN_CONFIRMATIONS blocks deep; "finalized": final once the node's
# `finalized` block tag reaches it (chains that offer the tag; falls back to the count otherwise).
CHAIN_FINALITY = env.str("CHAIN_FINALITY", default="confirmations")

# --- NFT (nft/): signer, custody, fees, confirmer, Sign-In with Ethereum ------------------------
# CHAIN_CONFIRMATIONS: 2 is right for anvil; use 12+ on L1 mainnet (or follow the `finalized` tag).
# Keys are never in the repository: NFT_SIGNER_PRIVATE_KEY (hex) or NFT_SIGNER_KEYSTORE (+ password
# file/variable) for the minter; NFT_CUSTODY_MNEMONIC for the shoppers' custodial wallets. Only when
# CHAIN_ID is 31337 (local anvil) do both fall back to anvil's PUBLIC test mnemonic (see nft/keys.py).
NFT_SIGNER_PRIVATE_KEY = env.str("NFT_SIGNER_PRIVATE_KEY", default="")
NFT_SIGNER_KEYSTORE = env.str("NFT_SIGNER_KEYSTORE", default="")
NFT_SIGNER_KEYSTORE_PASSWORD = env.str("NFT_SIGNER_KEYSTORE_PASSWORD", default="")
NFT_CUSTODY_MNEMONIC = env.str("NFT_CUSTODY_MNEMONIC", default="")
# The encrypted key store (nft/keystore.py): when NFT_KEYSTORE_PATH is set, the minter key and the
# custody mnemonic come only from that file, decrypted with NFT_KEYSTORE_KEY (or the key in the file
# NFT_KEYSTORE_KEY_FILE); comma-separated keys while rotating. See `manage.py keystore --help`.
NFT_KEYSTORE_PATH = env.str("NFT_KEYSTORE_PATH", default="")
NFT_KEYSTORE_KEY = env.str("NFT_KEYSTORE_KEY", default="")
NFT_KEYSTORE_KEY_FILE = env.str("NFT_KEYSTORE_KEY_FILE", default="")
# Signer pool (nft/services/signer_pool.py): minters used in parallel, each with its own nonce lane.
# 1 = the minter alone. Extra members derive from NFT_SIGNER_POOL_MNEMONIC (or the key store file;
# anvil's public mnemonic on the local chain); the minter funds them up to NFT_SIGNER_POOL_FUND_WEI
# when they hold less than half of it, and grants them MINTER_ROLE on each collection.
NFT_SIGNER_POOL_SIZE = env.int("NFT_SIGNER_POOL_SIZE", default=1)
NFT_SIGNER_POOL_MNEMONIC = env.str("NFT_SIGNER_POOL_MNEMONIC", default="")
NFT_SIGNER_POOL_FUND_WEI = env.int("NFT_SIGNER_POOL_FUND_WEI", default=10**18)
# Mints one send signs and sends together (one lane lock, one commit, one JSON-RPC batch): a worker
# sending mint X also takes up to this many other waiting mints of the same collection.
NFT_SEND_BATCH_SIZE = env.int("NFT_SEND_BATCH_SIZE", default=64)
# Registering a contract the platform did not deploy: the owner signs a challenge valid this long.
COLLECTION_CHALLENGE_TTL_SECONDS = env.int("COLLECTION_CHALLENGE_TTL_SECONDS", default=600)
# EIP-1559 fees: max fee = min(2 x base fee + tip, cap); replacements bump both by >= 12.5 %.
NFT_PRIORITY_FEE_WEI = env.int("NFT_PRIORITY_FEE_WEI", default=1_000_000_000)
NFT_MAX_PRIORITY_FEE_WEI = env.int("NFT_MAX_PRIORITY_FEE_WEI", default=5_000_000_000)
NFT_MAX_FEE_PER_GAS_WEI = env.int("NFT_MAX_FEE_PER_GAS_WEI", default=500_000_000_000)
NFT_FEE_BUMP_PERMILLE = env.int("NFT_FEE_BUMP_PERMILLE", default=125)
NFT_MINT_GAS_LIMIT = env.int("NFT_MINT_GAS_LIMIT", default=250_000)
NFT_TRANSFER_GAS_LIMIT = env.int("NFT_TRANSFER_GAS_LIMIT", default=150_000)
NFT_DEPLOY_GAS_LIMIT = env.int("NFT_DEPLOY_GAS_LIMIT", default=3_000_000)
# A sent transaction without a receipt is re-sent after REBROADCAST seconds, fee-bumped after STUCK.
NFT_REBROADCAST_AFTER_SECONDS = env.float("NFT_REBROADCAST_AFTER_SECONDS", default=15.0)
NFT_STUCK_AFTER_SECONDS = env.float("NFT_STUCK_AFTER_SECONDS", default=90.0)
# Block confirmer: poll interval, blocks per round, recent-hash window, first-run backfill.
NFT_POLL_INTERVAL_SECONDS = env.float("NFT_POLL_INTERVAL_SECONDS", default=0.5)
NFT_CONFIRMER_BATCH_BLOCKS = env.int("NFT_CONFIRMER_BATCH_BLOCKS", default=200)
NFT_BLOCK_WINDOW = env.int("NFT_BLOCK_WINDOW", default=256)
NFT_CONFIRMER_BACKFILL_BLOCKS = env.int("NFT_CONFIRMER_BACKFILL_BLOCKS", default=64)
# Wallet watcher (nft/services/wallet_watch.py, run by watch_chain): Transfer / ApprovalForAll logs of
# linked and custodial wallets on any contract. Addresses per eth_getLogs filter, filters per batched
# JSON-RPC request, blocks per round,
# blocks before the head a fresh watcher starts at; NFT_PLATFORM_OPERATORS: extra addresses of ours
# (e.g. a marketplace contract) whose ApprovalForAll is expected, comma separated.
NFT_WALLET_WATCH_ENABLED = env.bool("NFT_WALLET_WATCH_ENABLED", default=True)
NFT_WALLET_WATCH_ADDRESSES_PER_FILTER = env.int("NFT_WALLET_WATCH_ADDRESSES_PER_FILTER", default=500)
NFT_WALLET_WATCH_FILTERS_PER_REQUEST = env.int("NFT_WALLET_WATCH_FILTERS_PER_REQUEST", default=10)
NFT_WALLET_WATCH_BATCH_BLOCKS = env.int("NFT_WALLET_WATCH_BATCH_BLOCKS", default=100)
NFT_WALLET_WATCH_BACKFILL_BLOCKS = env.int("NFT_WALLET_WATCH_BACKFILL_BLOCKS", default=0)
NFT_PLATFORM_OPERATORS = env.list("NFT_PLATFORM_OPERATORS", default=[])
# Token metadata: collections deployed here get base URI <NFT_METADATA_BASE_URL>/<chain>/<address>/.
NFT_METADATA_BASE_URL = env.str("NFT_METADATA_BASE_URL", default=f"{SITE_URL}/nft/metadata")
# Sign-In with Ethereum (EIP-4361): the domain and URI messages must carry; nonce lifetime.
SIWE_DOMAIN = env.str("SIWE_DOMAIN", default=SITE_URL.split("://", 1)[-1].split("/", 1)[0])
SIWE_URI = env.str("SIWE_URI", default=SITE_URL)
SIWE_NONCE_TTL_SECONDS = env.int("SIWE_NONCE_TTL_SECONDS", default=600)
CELERY_BEAT_SCHEDULE["nft-rebroadcast-pending"] = {"task": "nft.tasks.rebroadcast_pending", "schedule": 10.0}
CELERY_BEAT_SCHEDULE["nft-replace-stuck"] = {"task": "nft.tasks.replace_stuck", "schedule": 30.0}
CELERY_BEAT_SCHEDULE["nft-heal-nonces"] = {"task": "nft.tasks.heal_nonces", "schedule": 60.0}

# --- Stripe ------------------------------------------------------------------------------------
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="http://127.0.0.1:52111")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_123")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_123")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_dev_only_local_secret")
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)

# --- Health checks -----------------------------------------------------------------------------
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=2.0)

# --- API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # knox tokens with a short per-process cache (commerce/api/auth.py); every view uses these two.
        # Listed first: its `WWW-Authenticate: Token` makes missing, expired or revoked credentials a 401.
        "commerce.api.auth.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
# API tokens (django-rest-knox): lifetime, how many one user may hold (the oldest go first), how long
# a web process trusts a token it has seen (a revoked token works at most this long in other processes).
API_TOKEN_TTL_SECONDS = env.int("API_TOKEN_TTL_SECONDS", default=7 * 24 * 3600)
API_TOKEN_MAX_PER_USER = env.int("API_TOKEN_MAX_PER_USER", default=20)
API_TOKEN_CACHE_SECONDS = env.float("API_TOKEN_CACHE_SECONDS", default=10.0)
REST_KNOX = {"TOKEN_TTL": timedelta(seconds=API_TOKEN_TTL_SECONDS), "AUTH_HEADER_PREFIX": "Token"}
# Single-use WebSocket tickets (realtime/ws/tickets.py): how long one may wait before it is used.
WS_TICKET_TTL_SECONDS = env.int("WS_TICKET_TTL_SECONDS", default=30)
SPECTACULAR_SETTINGS = {
    "TITLE": "mintdrop API",
    "DESCRIPTION": "Live commerce of physical goods and NFTs: catalog, drops, reservations, orders.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Logging: one JSON object per line ---------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django logs every 4xx here at WARNING, bypassing the root level (its `django` logger
        # has its own): a drop's stampede would write one line per sold_out. 5xx stay logged.
        "django.request": {"level": "ERROR"},
        "kafka": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},  # stripe-python logs every request at INFO
    },
}

# --- Traces (OpenTelemetry -> OTLP -> Jaeger in dev; config/tracing.py) ----------------------------
# Off with MINTDROP_TRACING=0 (or the SDK's OTEL_SDK_DISABLED=true). The exporter reads the standard
# OTEL_EXPORTER_OTLP_ENDPOINT (ops/env.sh points it at the local Jaeger).
TRACING_ENABLED = env.bool("MINTDROP_TRACING", default=True)
# Base URL of the OTLP/HTTP receiver (spans go to <it>/v1/traces); default: the Jaeger of ops/.
TRACING_OTLP_ENDPOINT = env.str(
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    default=f"http://127.0.0.1:{env.int('JAEGER_OTLP_HTTP_PORT', default=54318)}",
)

# Jaeger's query API (manage.py show_trace reads traces from it)
JAEGER_QUERY_URL = env.str(
    "JAEGER_QUERY_URL", default=f"http://127.0.0.1:{env.int('JAEGER_UI_PORT', default=56686)}"
)

# --- Commerce (catalog, drops, reservations, orders) -------------------------------------------
# How long a reservation holds stock before it is released (beat task + lazily on read).
COMMERCE_RESERVATION_TTL_SECONDS = env.int("COMMERCE_RESERVATION_TTL_SECONDS", default=600)
# A web process that saw a SKU sold out answers sold_out from memory this long (0 = off); units
# given back in another process are offered here again at most this much later.
COMMERCE_SOLD_OUT_MEMO_SECONDS = env.float("COMMERCE_SOLD_OUT_MEMO_SECONDS", default=1.0)
# At checkout the hold is extended to at least this long, so a payment in progress keeps its stock.
COMMERCE_CHECKOUT_HOLD_SECONDS = env.int("COMMERCE_CHECKOUT_HOLD_SECONDS", default=900)
# A drop item offering at least COMMERCE_STOCK_SHARD_MIN_UNITS units has its stock split over
# COMMERCE_STOCK_SHARDS rows so that buyers commit in parallel (1 = one row; a drop item spec or
# the admin may choose per item). See commerce/services/stock_split.py and bench/stock_shards.py.
# On by default for the hyped size (the waiting room's default threshold too): a multi-unit request
# needs its units on one row, so near the end of a split item a request for 2 may be refused.
COMMERCE_STOCK_SHARDS = env.int("COMMERCE_STOCK_SHARDS", default=8)
COMMERCE_STOCK_SHARD_MIN_UNITS = env.int("COMMERCE_STOCK_SHARD_MIN_UNITS", default=1000)
# Stored Idempotency-Key responses are kept this long.
COMMERCE_IDEMPOTENCY_RETENTION_HOURS = env.int("COMMERCE_IDEMPOTENCY_RETENTION_HOURS", default=24)
# Waiting room (commerce/waiting_room/, README "Waiting room"). A drop in `auto` mode queues its
# buyers when it offers at least this many units; the merchant can force it on or off per drop.
COMMERCE_WAITING_ROOM_MIN_UNITS = env.int("COMMERCE_WAITING_ROOM_MIN_UNITS", default=1000)
# Buyers admitted per second per drop (default; per drop in the merchant's settings). Derive it from
# bench/drop_stampede.py: reservations/s measured x 0.5 (headroom), divided by concurrent queued drops.
COMMERCE_WAITING_ROOM_ADMIT_PER_SECOND = env.float("COMMERCE_WAITING_ROOM_ADMIT_PER_SECOND", default=50.0)
# An admitted buyer must reserve within this; then the slot goes to the next in line.
COMMERCE_WAITING_ROOM_ADMISSION_TTL_SECONDS = env.float(
    "COMMERCE_WAITING_ROOM_ADMISSION_TTL_SECONDS", default=60.0
)
# After Redis lost a room's queue: the rejoin lottery window before the queue opens again.
COMMERCE_WAITING_ROOM_REBUILD_SECONDS = env.float("COMMERCE_WAITING_ROOM_REBUILD_SECONDS", default=10.0)
COMMERCE_WAITING_ROOM_TICK_SECONDS = env.float("COMMERCE_WAITING_ROOM_TICK_SECONDS", default=0.2)
# Web processes cache "does this drop need an admission token" this long.
COMMERCE_WAITING_ROOM_CACHE_SECONDS = env.float("COMMERCE_WAITING_ROOM_CACHE_SECONDS", default=2.0)
# How often the ws process pushes `queue` frames (position, estimated wait) to waiting sockets.
COMMERCE_WAITING_ROOM_PUSH_SECONDS = env.float("COMMERCE_WAITING_ROOM_PUSH_SECONDS", default=1.0)
# Joins and polls of a waiting room answered in front of Django (commerce/waiting_room/edge.py): the
# same answers without DRF's dispatch and the middleware chain; off = every one goes through Django.
COMMERCE_WAITING_ROOM_EDGE = env.bool("COMMERCE_WAITING_ROOM_EDGE", default=True)
COMMERCE_WAITING_ROOM_REDIS_URL = env.str("COMMERCE_WAITING_ROOM_REDIS_URL", default=REDIS_URL)
COMMERCE_WAITING_ROOM_PREFIX = env.str("COMMERCE_WAITING_ROOM_PREFIX", default="mintdrop:wr:")
CELERY_BEAT_SCHEDULE["commerce-expire-reservations"] = {
    "task": "commerce.tasks.expire_reservations",
    "schedule": 5.0,
}
CELERY_BEAT_SCHEDULE["commerce-advance-drops"] = {"task": "commerce.tasks.advance_drops", "schedule": 2.0}
CELERY_BEAT_SCHEDULE["commerce-purge-expired-tokens"] = {
    "task": "commerce.tasks.purge_expired_tokens",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["commerce-purge-idempotency-keys"] = {
    "task": "commerce.tasks.purge_idempotency_keys",
    "schedule": 3600.0,
}
# --- end commerce ------------------------------------------------------------------------------

# --- Payments (commerce/payments): Stripe checkout, webhook, saga, reconciler ---------------------
# Orders awaiting payment (or paid but not fulfilled) longer than this are checked against Stripe.
PAYMENTS_RECONCILE_AFTER_SECONDS = env.int("PAYMENTS_RECONCILE_AFTER_SECONDS", default=600)
# A PaymentIntent still unpaid after this long is cancelled at Stripe (the order then cancels).
PAYMENTS_ABANDON_AFTER_SECONDS = env.int("PAYMENTS_ABANDON_AFTER_SECONDS", default=3600)
# A refund still pending after this long is re-driven (same idempotency key) by the reconciler.
PAYMENTS_REFUND_RETRY_AFTER_SECONDS = env.int("PAYMENTS_REFUND_RETRY_AFTER_SECONDS", default=120)
# Timeout (s) and network retries of each Stripe API call (retries reuse the idempotency key).
PAYMENTS_STRIPE_TIMEOUT_SECONDS = env.float("PAYMENTS_STRIPE_TIMEOUT_SECONDS", default=10.0)
PAYMENTS_STRIPE_MAX_RETRIES = env.int("PAYMENTS_STRIPE_MAX_RETRIES", default=2)
# Demo-only endpoint/command that confirms a PaymentIntent on stripe-mock, then sends the signed webhook.
PAYMENTS_DEMO_CONFIRM = env.bool("PAYMENTS_DEMO_CONFIRM", default=DEBUG)
# Marketplace (Stripe Connect): the fee on a Connect merchant's sales when it has no fee plan, in
# basis points (1000 = 10 %); the public URL Stripe sends onboarded merchants back to; how long the
# console caches balance and payouts read from Stripe.
MARKETPLACE_DEFAULT_FEE_BPS = env.int("MARKETPLACE_DEFAULT_FEE_BPS", default=1000)
MARKETPLACE_PUBLIC_URL = env.str("MARKETPLACE_PUBLIC_URL", default="http://127.0.0.1:8000")
MARKETPLACE_STRIPE_CACHE_SECONDS = env.int("MARKETPLACE_STRIPE_CACHE_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {"task": "commerce.payments.tasks.reconcile", "schedule": 60.0}

# --- Frontend (frontend/): storefront, merchant console, vendored npm assets ---------------------
# Where browsers open the live WebSockets (the `ws` process; behind a proxy: wss://<site>).
WS_PUBLIC_URL = env.str("WS_PUBLIC_URL", default="ws://127.0.0.1:8001")
# Stripe.js is only loaded when real Stripe keys are configured (PAYMENTS_DEMO_CONFIRM off);
# dev and the demo pay against stripe-mock with no third-party script at all.
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
# Front-end assets come from npm packages under NODE_MODULES_DIR (see frontend/finders.py).
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "frontend.finders.NodeModulesFinder",
]
TEMPLATES[0]["OPTIONS"]["context_processors"].append("frontend.context.site")  # type: ignore[index]
LOGIN_REDIRECT_URL = "/"
# --- end frontend --------------------------------------------------------------------------------

# --- Live WebSockets (realtime/ws/): projector, hub, resume buffers -----------------------------
# Figures behind these numbers: realtime/ws/README.md (bench/ws_fanout.py on this machine).
# Stock frames per drop are coalesced to at most one per window (last value wins).
WS_COALESCE_WINDOW_MS = env.int("WS_COALESCE_WINDOW_MS", default=100)
# While a drop stays busy its window doubles per frame up to this (fewer, fuller frames in a stampede).
WS_COALESCE_MAX_WINDOW_MS = env.int("WS_COALESCE_MAX_WINDOW_MS", default=500)
# Dashboards are recomputed from the database at most this often per merchant.
WS_DASHBOARD_INTERVAL_MS = env.int("WS_DASHBOARD_INTERVAL_MS", default=500)
# Frames kept per stream for `resume` (older last_seq values get a fresh snapshot), and how long
# heads and buffers of an idle stream live in Redis.
WS_RESUME_BUFFER = env.int("WS_RESUME_BUFFER", default=256)
WS_STREAM_TTL_SECONDS = env.int("WS_STREAM_TTL_SECONDS", default=7 * 24 * 3600)
# A snapshot loaded this recently is reused by new sockets of the same stream in that process, with
# the frames after its head (realtime/ws/hub.py): a burst of viewers costs one database read a window.
WS_SNAPSHOT_REUSE_MS = env.int("WS_SNAPSHOT_REUSE_MS", default=1000)
# How often each ASGI process checks that it has not missed a stream's frames.
WS_HEAL_INTERVAL_SECONDS = env.float("WS_HEAL_INTERVAL_SECONDS", default=2.0)
# The ws process's garbage collector (realtime/ws/gcpolicy.py): survivors frozen this often (0: off),
# one full collection of everything this often.
WS_GC_FREEZE_SECONDS = env.float("WS_GC_FREEZE_SECONDS", default=2.0)
WS_GC_FULL_SECONDS = env.float("WS_GC_FULL_SECONDS", default=600.0)
# Frames queued behind a socket whose TCP buffer is full before it is closed (it resumes).
WS_SLOW_SOCKET_BACKLOG = env.int("WS_SLOW_SOCKET_BACKLOG", default=64)
# The hub's fast path: a frame's bytes written straight to uvicorn's transport (realtime/ws/wire.py);
# 0 sends every frame through the ASGI send (same frames, more CPU). The live ws tests run both ways.
WS_FAST_PATHS = env.bool("WS_FAST_PATHS", default=True)
WS_REDIS_MAX_CONNECTIONS = env.int("WS_REDIS_MAX_CONNECTIONS", default=200)

# --- Live shows (commerce/shows/, realtime/shows/) --------------------------------------------------
# Chat: at most SHOWS_CHAT_RATE_LIMIT messages per user per show in each window, up to this length.
SHOWS_CHAT_MAX_LENGTH = env.int("SHOWS_CHAT_MAX_LENGTH", default=300)
SHOWS_CHAT_RATE_LIMIT = env.int("SHOWS_CHAT_RATE_LIMIT", default=5)
SHOWS_CHAT_RATE_WINDOW_SECONDS = env.int("SHOWS_CHAT_RATE_WINDOW_SECONDS", default=10)
# Viewer counts: each ws process reports and pushes at most once per interval; a process not
# heard from for STALE seconds no longer counts (it was killed).
SHOWS_PRESENCE_INTERVAL_SECONDS = env.float("SHOWS_PRESENCE_INTERVAL_SECONDS", default=1.0)
# Chat frames are batched per show in each ws process: at most one `chat_batch` per socket per this.
SHOWS_CHAT_BATCH_MS = env.int("SHOWS_CHAT_BATCH_MS", default=100)
# While chat stays busy the window widens (doubling) up to this; = SHOWS_CHAT_BATCH_MS keeps it fixed.
SHOWS_CHAT_MAX_BATCH_MS = env.int("SHOWS_CHAT_MAX_BATCH_MS", default=200)
# ...and never shorter than this many times the CPU the last chat fan-out took, counted from its end.
SHOWS_CHAT_COST_FACTOR = env.float("SHOWS_CHAT_COST_FACTOR", default=2.0)
SHOWS_PRESENCE_STALE_SECONDS = env.float("SHOWS_PRESENCE_STALE_SECONDS", default=5.0)
# The demo show's HLS video (made with ffmpeg by `manage.py seed_demo_show`), served under /media/shows/ in dev.
SHOWS_MEDIA_DIR = env.str("SHOWS_MEDIA_DIR", default=str(BASE_DIR / ".local" / "media"))
SHOWS_SERVE_MEDIA = env.bool("SHOWS_SERVE_MEDIA", default=True)  # off behind a CDN / reverse proxy
# hls.js comes from its npm package (frontend/shows/finders.py), like the frontend's vendored files.
STATICFILES_FINDERS = [*STATICFILES_FINDERS, "frontend.shows.finders.ShowAssetsFinder"]
# --- end live shows --------------------------------------------------------------------------------

# --- Notifications (notifications/): e-mail through SMTP (Mailpit in dev/tests), in-app centre ------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=51025)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
# Seconds per SMTP socket operation; the sender's lease on a row (NOTIFY_SEND_LEASE_SECONDS) is longer.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# The address mail comes from; the display name is the store's (or NOTIFY_SITE_NAME for account mail).
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@mintdrop.local")
NOTIFY_SITE_NAME = env.str("NOTIFY_SITE_NAME", default="mintdrop")
# Right-hand side of the Message-ID derived from (event id, recipient): a resend is recognisable.
NOTIFY_MESSAGE_ID_DOMAIN = env.str("NOTIFY_MESSAGE_ID_DOMAIN", default="notify.mintdrop.local")
# A transaction on the block explorer; {chain_id} and {tx_hash} are filled in. Empty: no link.
EXPLORER_TX_URL = env.str("EXPLORER_TX_URL", default="")
# SMTP failures: retry after BASE * 2^(attempt-1) s (capped at MAX) up to MAX_ATTEMPTS, then dead letter.
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=8)
NOTIFY_RETRY_BASE_SECONDS = env.float("NOTIFY_RETRY_BASE_SECONDS", default=30.0)
NOTIFY_RETRY_MAX_SECONDS = env.float("NOTIFY_RETRY_MAX_SECONDS", default=3600.0)
NOTIFY_SEND_LEASE_SECONDS = env.float("NOTIFY_SEND_LEASE_SECONDS", default=120.0)
NOTIFY_SEND_BATCH = env.int("NOTIFY_SEND_BATCH", default=50)
# E-mail verification links live this long (password reset links: PASSWORD_RESET_TIMEOUT).
NOTIFY_VERIFY_MAX_AGE_SECONDS = env.int("NOTIFY_VERIFY_MAX_AGE_SECONDS", default=3 * 24 * 3600)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
CELERY_BEAT_SCHEDULE["notifications-send-due"] = {
    "task": "notifications.tasks.send_due_emails",
    "schedule": env.float("NOTIFY_SWEEP_SECONDS", default=5.0),
}
TEMPLATES[0]["OPTIONS"]["context_processors"].append("notifications.context.unread")  # type: ignore[index]
# --- end notifications -----------------------------------------------------------------------------

# Fault injection (config/faults.py): crash tests arm named crash points in the child processes
# they kill (MINTDROP_CRASH_AT). Arming is ignored unless this is on, and only the test run turns
# it on (tests/conftest.py). Never set it anywhere else.
FAULT_INJECTION_ENABLED = env.bool("MINTDROP_FAULT_INJECTION", default=False)

# --- Bot and abuse defences (commerce/abuse/) -------------------------------------------------------
# Throttles: "<n>/<s|m|h|d>" per scope (several comma-separated, each counted: "5/s,600/m"), counted
# in Redis (fixed windows, shared by every process).
# A scope is an action plus who is counted: `user` (the account; for sign-in, the username tried)
# and `ip` (the client address, see ABUSE_NUM_PROXIES). The IP rates are set for a NAT'd office or a
# campus behind one address, while still bounding a single script. 0 / empty turns a scope off.
ABUSE_THROTTLE_ENABLED = env.bool("ABUSE_THROTTLE_ENABLED", default=True)
ABUSE_THROTTLE_RATES = {
    "signup.ip": env.str("ABUSE_RATE_SIGNUP_IP", default="20/h"),
    "token.user": env.str("ABUSE_RATE_TOKEN_USER", default="10/m"),
    "token.ip": env.str("ABUSE_RATE_TOKEN_IP", default="120/m"),
    "login.user": env.str("ABUSE_RATE_LOGIN_USER", default="10/m"),
    "login.ip": env.str("ABUSE_RATE_LOGIN_IP", default="120/m"),
    "reserve.user": env.str("ABUSE_RATE_RESERVE_USER", default="30/m"),
    # Two windows: a script from one address may not burst (5/s) nor keep going (600/m); a hyped drop
    # sells out in seconds, so the per-second bound is the one that limits what a few addresses win.
    "reserve.ip": env.str("ABUSE_RATE_RESERVE_IP", default="5/s,600/m"),
}
# How many reverse proxies in front of the web process append to X-Forwarded-For. 0 (default):
# the header is ignored and the client IP is the socket's REMOTE_ADDR, so a client cannot pick its
# own address. Behind one proxy (nginx, a load balancer) set 1: the last address it appended is used.
ABUSE_NUM_PROXIES = env.int("ABUSE_NUM_PROXIES", default=0)
# Velocity rules: a buyer tripping one is flagged (the merchant's live room lists them).
ABUSE_FLAG_ACCOUNTS_PER_IP_PER_HOUR = env.int("ABUSE_FLAG_ACCOUNTS_PER_IP_PER_HOUR", default=5)
ABUSE_FLAG_RESERVES_PER_MINUTE = env.int("ABUSE_FLAG_RESERVES_PER_MINUTE", default=20)
ABUSE_FLAG_CARDS_PER_BUYER = env.int("ABUSE_FLAG_CARDS_PER_BUYER", default=3)
# Blocked buyers are kept per drop in each process's memory this long (one query per drop and window).
ABUSE_BLOCKLIST_CACHE_SECONDS = env.float("ABUSE_BLOCKLIST_CACHE_SECONDS", default=2.0)
# At payment, the drop's per-buyer limit is also counted per card fingerprint and per receiving wallet.
ABUSE_IDENTITY_LIMITS = env.bool("ABUSE_IDENTITY_LIMITS", default=True)
# DRF trusts X-Forwarded-For when NUM_PROXIES is None (its default): 0 makes it use REMOTE_ADDR.
REST_FRAMEWORK["NUM_PROXIES"] = ABUSE_NUM_PROXIES

# --- end abuse -----------------------------------------------------------------------------------------

# --- Auctions (commerce/auctions/) ---------------------------------------------------------------------
# Bids per user (every auction): a flood past this is refused with 429 `bid_rate_limited`.
ABUSE_THROTTLE_RATES["bid.user"] = env.str("ABUSE_RATE_BID_USER", default="10/10s")
# The worker closes auctions at their end (eta tasks); this sweep catches any task that was lost.
CELERY_BEAT_SCHEDULE["auctions-close-due"] = {"task": "commerce.auctions.tasks.close_due", "schedule": 5.0}
# Auction frames to viewers: per ws process, at most one per window (last value wins), widening while busy.
AUCTION_FRAME_WINDOW_MS = env.int("AUCTION_FRAME_WINDOW_MS", default=100)
AUCTION_FRAME_MAX_WINDOW_MS = env.int("AUCTION_FRAME_MAX_WINDOW_MS", default=250)
# ...and never shorter than this many times the CPU the last auction fan-out took (<= 1/(1+factor) of the loop).
AUCTION_FRAME_COST_FACTOR = env.float("AUCTION_FRAME_COST_FACTOR", default=2.0)
# --- end auctions --------------------------------------------------------------------------------------

# --- Monitoring (monitoring/): Prometheus metrics, the `monitor` process, the ops admin page ----------
# MINTDROP_METRICS=0 turns every metric off (no middleware, no exporters, /metrics answers 404):
# measure the cost of metrics with it. Ports per process kind: monitoring/ports.py (METRICS_PORT_BASE).
METRICS_ENABLED = env.bool("MINTDROP_METRICS", default=True)
# Who may read the web process's /metrics (the scraper's address as the web server sees it).
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
# A saga waiting on us (mint not confirmed, refund not done) longer than this counts as stuck.
MONITOR_SAGA_STUCK_AFTER_SECONDS = env.int("MONITOR_SAGA_STUCK_AFTER_SECONDS", default=1800)
MONITOR_CELERY_QUEUES = env.list("MONITOR_CELERY_QUEUES", default=["celery"])
# The ops page links here (Prometheus UI and its alerts), as `make dev` prints it.
PROMETHEUS_URL = env.str("PROMETHEUS_URL", default="http://127.0.0.1:59090")
INSTALLED_APPS.append("monitoring")
if METRICS_ENABLED:
    MIDDLEWARE.insert(0, "monitoring.http.HttpMetricsMiddleware")
# --- end monitoring -----------------------------------------------------------------------------------

# --- Security headers and cookies (config/security_headers.py; production values by default there) -------
# Behind the reverse proxy (docs/deploy.md) TLS ends at the proxy, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes from inside the network speak plain HTTP
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=PRODUCTION)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
# Only what the pages use: Stripe's payment sheet (payment), nothing else.
PERMISSIONS_POLICY = env.str(
    "PERMISSIONS_POLICY",
    default="camera=(), microphone=(), geolocation=(), usb=(), serial=(), bluetooth=(), midi=(), "
    "magnetometer=(), gyroscope=(), accelerometer=(), payment=(self)",
)
# Extra origins pages may fetch from (e.g. a CDN of 3D models); the policy is in config/security_headers.py.
CSP_EXTRA_CONNECT_SRC = env.list("CSP_EXTRA_CONNECT_SRC", default=[])
# Hashes of third-party inline <style> elements allowed by the policy (no 'unsafe-inline'): the one
# <style> in the shadow DOM of the vendored @google/model-viewer (version pinned by its package-lock;
# after an upgrade tests/frontend's CSP watcher reports the new hash).
CSP_STYLE_HASHES = env.list(
    "CSP_STYLE_HASHES", default=["sha256-PXtZZkJMMyc18o/DN1ZEFOJ2qEGq95IQbVaJFMOXOb0="]
)

if PRODUCTION:
    from config.production import refusal_message, unsafe_settings

    _problems = unsafe_settings(globals())
    if _problems:
        raise ImproperlyConfigured(refusal_message(_problems))
