#!/usr/bin/env bash
# ops/env.sh — default ports and connection URLs of the local services.
#
#   source ops/env.sh        export the defaults (values already set are kept)
#   eval "$(ops/env.sh)"     same, from any shell
#   ops/env.sh               print them as `export NAME=value` lines
#
# Sourcing this file changes nothing but these variables (no `set -e` etc.).

: "${POSTGRES_PORT:=55432}"
: "${REDIS_PORT:=56379}"
: "${KAFKA_PORT:=59092}"
: "${KAFKA_CONTROLLER_PORT:=59093}"
: "${ANVIL_PORT:=58545}"
: "${CHAIN_ID:=31337}"
: "${STRIPE_MOCK_PORT:=52111}"
: "${STRIPE_MOCK_HTTPS_PORT:=52112}"
: "${MAILPIT_SMTP_PORT:=51025}"
: "${MAILPIT_HTTP_PORT:=58025}"
: "${PROMETHEUS_PORT:=59090}"
: "${ALERTMANAGER_PORT:=59095}"
# Each long-running process serves its metrics on 127.0.0.1:METRICS_PORT_BASE+n (monitoring/ports.py).
: "${METRICS_PORT_BASE:=59100}"

: "${DATABASE_URL:=postgres://mintdrop:mintdrop@127.0.0.1:${POSTGRES_PORT}/mintdrop}"
: "${REDIS_URL:=redis://127.0.0.1:${REDIS_PORT}/0}"
: "${KAFKA_BOOTSTRAP_SERVERS:=127.0.0.1:${KAFKA_PORT}}"
: "${CHAIN_RPC_URL:=http://127.0.0.1:${ANVIL_PORT}}"
: "${STRIPE_API_BASE:=http://127.0.0.1:${STRIPE_MOCK_PORT}}"
: "${EMAIL_HOST:=127.0.0.1}"
: "${EMAIL_PORT:=${MAILPIT_SMTP_PORT}}"
: "${MAILPIT_API_URL:=http://127.0.0.1:${MAILPIT_HTTP_PORT}}"
: "${PROMETHEUS_URL:=http://127.0.0.1:${PROMETHEUS_PORT}}"

export POSTGRES_PORT REDIS_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT ANVIL_PORT CHAIN_ID \
    STRIPE_MOCK_PORT STRIPE_MOCK_HTTPS_PORT MAILPIT_SMTP_PORT MAILPIT_HTTP_PORT \
    DATABASE_URL REDIS_URL KAFKA_BOOTSTRAP_SERVERS CHAIN_RPC_URL STRIPE_API_BASE \
    EMAIL_HOST EMAIL_PORT MAILPIT_API_URL PROMETHEUS_PORT ALERTMANAGER_PORT METRICS_PORT_BASE PROMETHEUS_URL

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    for _mintdrop_var in POSTGRES_PORT REDIS_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT ANVIL_PORT \
        CHAIN_ID STRIPE_MOCK_PORT STRIPE_MOCK_HTTPS_PORT MAILPIT_SMTP_PORT MAILPIT_HTTP_PORT \
        DATABASE_URL REDIS_URL KAFKA_BOOTSTRAP_SERVERS CHAIN_RPC_URL STRIPE_API_BASE \
        EMAIL_HOST EMAIL_PORT MAILPIT_API_URL PROMETHEUS_PORT ALERTMANAGER_PORT METRICS_PORT_BASE PROMETHEUS_URL; do
        printf 'export %s=%q\n' "$_mintdrop_var" "${!_mintdrop_var}"
    done
    unset _mintdrop_var
fi
