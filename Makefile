# The two commands a newcomer needs are `make dev` and `make test` (see README.md).
SHELL := /bin/bash
# Every recipe shell (and the processes it starts) sees the same service ports and URLs as ops/.
export BASH_ENV := $(CURDIR)/ops/env.sh
.DEFAULT_GOAL := help
PY := .venv/bin/python
VENV_STAMP := .venv/.installed-$(shell sha1sum requirements.lock 2>/dev/null | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: help dev test install venv services stop migrate seed lint lock ci-test run chaos

help:
	@echo "make dev    - install everything, start services, migrate, seed demo data, run all processes"
	@echo "make test   - install everything, start services, lint, run the whole test suite"
	@echo "make stop   - stop the local services started by ops/"
	@echo "make lock   - re-resolve requirements.lock (hashed pins) after editing pyproject.toml"
	@echo "make chaos  - the chaos suite on a private 3-broker cluster (CHAOS_SEED=<n> replays a run)"

# Every package is installed only if its file matches a sha256 hash in requirements.lock, uv itself
# included (its pin and hashes are cut out of the lock for pip).
$(VENV_STAMP): requirements.lock
	@test -x .venv/bin/python || python3 -m venv .venv
	@test -x .venv/bin/uv || { sed -n '/^uv==/,/^[^ ]/{/^uv==/p;/^ *--hash/p}' requirements.lock >.venv/uv-req.txt \
		&& .venv/bin/pip install --quiet --require-hashes --no-deps -r .venv/uv-req.txt; }
	@.venv/bin/uv pip sync --quiet --require-hashes --python .venv/bin/python requirements.lock
	@rm -f .venv/.installed-* && touch $(VENV_STAMP)

venv: $(VENV_STAMP)

install: venv
	@ops/install

services: install
	@ops/start

stop:
	@ops/stop

migrate: services
	@$(PY) manage.py migrate --no-input -v 0
	@$(PY) manage.py kafka_topics --apply -v 0

seed: migrate
	@$(PY) manage.py seed_demo
	@$(PY) manage.py seed_demo_show

# In dev the chain produces a block every second like a real one (confirmations advance when idle);
# tests use the default one-block-per-transaction mode. Switching restarts anvil; the dev chain is
# kept on disk (.local/anvil/dev-chain.json) so it stays in step with the dev database.
# N copies of a process kind: `make dev CONCURRENCY=saga=3,nft=2` (honcho -c; README "Scaling out").
dev: export ANVIL_MODE := live
dev: seed
	@$(PY) manage.py collectstatic --no-input -v 0
	@ops/dev-banner
	@.venv/bin/honcho start -f Procfile $(if $(CONCURRENCY),-c $(CONCURRENCY))

# The lock files must match pyproject.toml / ops/node (needs the package index: see ops/lock).
lint: venv
	@ops/lock --check
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy .
	@$(PY) manage.py gen_event_docs --check

# The whole suite runs as three pytest processes at once (ops/test-split); a selection runs as one.
test: services lint
	@$(PY) manage.py check_services
	@if [ -n "$(PYTEST_ARGS)" ]; then .venv/bin/pytest $(PYTEST_ARGS); else ops/test-split; fi

# The one command that writes requirements.lock: `.venv/bin/uv pip compile pyproject.toml --extra dev
# --python-version 3.11 --generate-hashes -o requirements.lock` (ops/lock), keeping locked versions.
lock:
	@ops/lock

# The chaos suite (tests/chaos/README.md): brokers, PostgreSQL and every process kind killed during a
# drop, then the checks printed as JSON. Several minutes per run, so not part of `make test`. It starts
# (or reuses) a private 3-broker cluster on CHAOS_KAFKA_PORT (+100, +200) and a private PostgreSQL
# server (instance postgres-chaos, data in .local/postgres-chaos) on CHAOS_POSTGRES_PORT, never the
# shared ones. Both ports are below the kernel's ephemeral range (32768-60999 here): a client
# reconnecting to a dead broker can otherwise be given its port as its own local port, and the
# broker's restart then fails with "Address already in use".
CHAOS_KAFKA_PORT ?= 29492
CHAOS_POSTGRES_PORT ?= 29432
chaos: export KAFKA_BROKERS := 3
chaos: export KAFKA_PORT := $(CHAOS_KAFKA_PORT)
chaos: export KAFKA_CONTROLLER_PORT := $(shell echo $$(($(CHAOS_KAFKA_PORT) + 1)))
chaos: export KAFKA_BOOTSTRAP_SERVERS := 127.0.0.1:$(CHAOS_KAFKA_PORT),127.0.0.1:$(shell echo $$(($(CHAOS_KAFKA_PORT) + 100))),127.0.0.1:$(shell echo $$(($(CHAOS_KAFKA_PORT) + 200)))
chaos: export KAFKA_REPLICATION_FACTOR := 3
chaos: export KAFKA_MIN_INSYNC_REPLICAS := 2
chaos: export POSTGRES_INSTANCE := postgres-chaos
chaos: export POSTGRES_PORT := $(CHAOS_POSTGRES_PORT)
chaos: export DATABASE_URL := postgres://mintdrop:mintdrop@127.0.0.1:$(CHAOS_POSTGRES_PORT)/mintdrop
chaos: export MINTDROP_CHAOS := 1
chaos: venv
	@ops/start kafka postgres
	@$(PY) manage.py check_services
	@nice .venv/bin/pytest tests/chaos -p no:cacheprovider -s $(if $(CHAOS_SEED),--chaos-seed $(CHAOS_SEED)) $(PYTEST_ARGS)
