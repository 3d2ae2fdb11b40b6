#!/usr/bin/env bash
# ops/lib.sh — shared helpers for the ops/ scripts.  Source it, don't run it.
#
# All state lives under $ROOT/.local/ :
#   .local/<service>/        data (postgres/data, kafka/data, redis/)
#   .local/log/<service>.log service logs (previous run: <service>.prev.log)
#   .local/run/<service>.pid pid files
#   .local/tools/            downloaded tools (kafka jars, node_modules, stripe-mock binary)

OPS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$OPS_DIR/.." && pwd)"
# shellcheck source=env.sh
source "$OPS_DIR/env.sh"

LOCAL_DIR="$ROOT/.local"
LOG_DIR="$LOCAL_DIR/log"
RUN_DIR="$LOCAL_DIR/run"
TOOLS_DIR="$LOCAL_DIR/tools"
BIN_DIR="$TOOLS_DIR/bin"
NODE_DIR="$TOOLS_DIR/node"
KAFKA_HOME="$TOOLS_DIR/kafka"

# ---- pinned versions -------------------------------------------------------
KAFKA_VERSION=4.4.0              # org.apache.kafka:kafka_2.13 (+ kafka-tools)
LOG4J_VERSION=2.25.5             # log4j-slf4j-impl, matches log4j-core pulled by kafka
MVN_DEPENDENCY_PLUGIN=3.8.1
STRIPE_MOCK_VERSION=v0.203.0     # github.com/stripe/stripe-mock
MAILPIT_VERSION=v1.33.1          # github.com/axllent/mailpit (SMTP catcher + HTTP API)
JAEGER_VERSION=v1.76.0           # github.com/jaegertracing/jaeger (Jaeger v2: OTLP in, trace UI/API out)
# node tools (anvil, solc, @openzeppelin/contracts) are pinned in ops/node/package(-lock).json

PG_OS_USER="${PG_OS_USER:-mintdrop}"  # unprivileged OS user that owns and runs the PG cluster
# POSTGRES_INSTANCE: which server `postgres` means: its data in .local/<instance>/data, its log in
# .local/log/<instance>.log. The default is the dev/test server; another name (with its own
# POSTGRES_PORT) is a second, private server of this checkout, e.g. the chaos suite's
# `postgres-chaos`, which it crashes and restarts without touching the shared one.
PG_INSTANCE="${POSTGRES_INSTANCE:-postgres}"
[[ "$PG_INSTANCE" =~ ^postgres(-[a-z0-9]+)?$ ]] ||
    { printf 'mintdrop ops: POSTGRES_INSTANCE must be postgres or postgres-<name>, not %s\n' "$PG_INSTANCE" >&2; exit 1; }
PG_DB=mintdrop
PG_ROLE=mintdrop
PG_PASSWORD=mintdrop
ANVIL_MNEMONIC="${ANVIL_MNEMONIC:-test test test test test test test test test test test junk}"
[[ -n "${KAFKA_HEAP_OPTS:-}" ]] && KAFKA_HEAP_OPTS_SET=1 # else a cluster node takes KAFKA_NODE_HEAP_OPTS
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
START_TIMEOUT="${START_TIMEOUT:-60}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${STOP_TIMEOUT:-15}"

BIND=127.0.0.1
SERVICES=(postgres redis kafka anvil stripe-mock mailpit prometheus jaeger)
# Known to ops/start|stop|status by name, but not started by default (`ops/start alertmanager`).
OPTIONAL_SERVICES=(alertmanager)

# shellcheck source=kafka.sh
source "$OPS_DIR/kafka.sh"

# ---- small helpers ---------------------------------------------------------
die() { printf 'mintdrop ops: %s\n' "$*" >&2; exit 1; }
note() { printf '%-12s %s\n' "$1" "$2"; }
status_line() { printf '%-12s %-8s %s\n' "$1" "$2" "${3:-}"; }
# unit_of SVC: the name of SVC's log and pid files (postgres: the selected instance's)
unit_of() { if [[ "$1" == postgres ]]; then echo "$PG_INSTANCE"; else echo "$1"; fi; }
log_file() { printf '%s/%s.log' "$LOG_DIR" "$(unit_of "$1")"; }
pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$(unit_of "$1")"; }
pg_data_dir() { printf '%s/%s/data' "$LOCAL_DIR" "$PG_INSTANCE"; }
fn_name() { printf '%s_%s' "$1" "${2//-/_}"; }

port_of() {
    case "$1" in
        postgres) echo "$POSTGRES_PORT" ;;
        redis) echo "$REDIS_PORT" ;;
        kafka) kafka_node_port 1 ;;
        kafka-*) kafka_unit_port "$1" ;;
        anvil) echo "$ANVIL_PORT" ;;
        stripe-mock) echo "$STRIPE_MOCK_PORT" ;;
        mailpit) echo "$MAILPIT_SMTP_PORT" ;;
        prometheus) echo "$PROMETHEUS_PORT" ;;
        alertmanager) echo "$ALERTMANAGER_PORT" ;;
        jaeger) echo "$JAEGER_OTLP_HTTP_PORT" ;;
        *) die "unknown service: $1" ;;
    esac
}
addr_of() {
    if [[ "$1" == mailpit ]]; then # SMTP and the web UI / API
        printf '%s:%s (smtp), http://%s:%s (ui)' "$BIND" "$MAILPIT_SMTP_PORT" "$BIND" "$MAILPIT_HTTP_PORT"
    elif [[ "$1" == prometheus || "$1" == alertmanager ]]; then
        printf 'http://%s:%s (ui)' "$BIND" "$(port_of "$1")"
    elif [[ "$1" == kafka ]]; then # every node of a cluster
        kafka_addr
    elif [[ "$1" == jaeger ]]; then # OTLP in, trace UI / query API out
        printf 'http://%s:%s (otlp), http://%s:%s (ui)' "$BIND" "$JAEGER_OTLP_HTTP_PORT" "$BIND" "$JAEGER_UI_PORT"
    else
        printf '%s:%s' "$BIND" "$(port_of "$1")"
    fi
}
ready_line() { status_line "$1" ready "$(addr_of "$1")"; }

ensure_dirs() {
    mkdir -p "$LOG_DIR" "$RUN_DIR" "$TOOLS_DIR" "$BIN_DIR"
    # keep the whole state directory out of git even without a root .gitignore entry
    [[ -f "$LOCAL_DIR/.gitignore" ]] || printf '*\n' >"$LOCAL_DIR/.gitignore"
}

# parse_services ARGS... -> sets SELECTED=(...) (no args or "all" = every service)
parse_services() {
    SELECTED=()
    local a s ok
    if (($# == 0)); then SELECTED=("${SERVICES[@]}"); return 0; fi
    for a in "$@"; do
        case "$a" in
            all) SELECTED=("${SERVICES[@]}"); return 0 ;;
            pg | postgresql) a=postgres ;;
            stripe | stripe_mock) a=stripe-mock ;;
            node | chain) a=anvil ;;
            smtp | mail) a=mailpit ;;
            prom | metrics) a=prometheus ;;
            tracing | traces | otel) a=jaeger ;;
        esac
        ok=0
        for s in "${SERVICES[@]}" "${OPTIONAL_SERVICES[@]}"; do [[ "$s" == "$a" ]] && ok=1; done
        ((ok)) || die "unknown service '$a' (known: ${SERVICES[*]} ${OPTIONAL_SERVICES[*]})"
        SELECTED+=("$a")
    done
}

# rotate_log SVC: keep one previous log, start a fresh one
rotate_log() {
    local f; f="$(log_file "$1")"
    if [[ -s "$f" ]]; then mv -f "$f" "$LOG_DIR/$1.prev.log"; fi
    : >"$f"
}

show_log_tail() {
    local f; f="${2:-$(log_file "$1")}"
    if [[ -s "$f" ]]; then
        printf -- '--- last lines of %s ---\n' "$f" >&2
        tail -n "${3:-25}" "$f" >&2
        printf -- '---\n' >&2
    fi
}

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$BIND/$1" 2>/dev/null; }

# ---- process tracking ------------------------------------------------------
proc_pattern() {
    case "$1" in
        postgres) echo "postgres" ;;
        redis) echo "redis-server" ;;
        kafka | kafka-*) echo "kafka.Kafka" ;;
        anvil) echo "anvil" ;;
        stripe-mock) echo "stripe-mock" ;;
        mailpit) echo "mailpit" ;;
        prometheus) echo "prometheus --config.file" ;;
        alertmanager) echo "prometheus-alertmanager" ;;
        jaeger) echo "bin/jaeger" ;;
    esac
}

# service_pid SVC: print the pid of our live process for SVC, or fail
service_pid() {
    local svc=$1 f pid
    if [[ "$svc" == postgres ]]; then f="$(pg_data_dir)/postmaster.pid"; else f="$(pid_file "$svc")"; fi
    [[ -r "$f" ]] || return 1
    read -r pid <"$f" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(proc_pattern "$svc")" || return 1
    echo "$pid"
}
is_running() { if [[ "$1" == kafka ]]; then kafka_running; else service_pid "$1" >/dev/null; fi; }
# pid_alive SVC: the recorded pid still exists (no identity check: right after spawn the
# child may not have exec'd its program yet)
pid_alive() {
    local f pid
    if [[ "$1" == postgres ]]; then f="$(pg_data_dir)/postmaster.pid"; else f="$(pid_file "$1")"; fi
    [[ -r "$f" ]] && read -r pid <"$f" && [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# spawn SVC CMD...: run CMD detached (own session), output appended to the service log
# (callers rotate the log first), record its pid
spawn() {
    local svc=$1; shift
    setsid "$@" </dev/null >>"$(log_file "$svc")" 2>&1 8>&- 9>&- &
    echo $! >"$(pid_file "$svc")"
}

# wait_for SVC CHECK-CMD TIMEOUT: poll CHECK-CMD (eval'd) until it succeeds
wait_for() {
    local svc=$1 check=$2 timeout=${3:-$START_TIMEOUT} start=$SECONDS
    while :; do
        if eval "$check"; then return 0; fi
        if ! pid_alive "$svc"; then
            show_log_tail "$svc"
            die "$svc failed to start: process exited (log: $(log_file "$svc"))"
        fi
        if ((SECONDS - start >= timeout)); then
            show_log_tail "$svc"
            die "$svc did not become ready on $(addr_of "$svc") within ${timeout}s (log: $(log_file "$svc"))"
        fi
        sleep 0.5
    done
}

check_port_free() { # SVC PORT
    if tcp_open "$2"; then
        die "$1: port $BIND:$2 is already in use by a process not started by ops/ (stop it or set another port)"
    fi
}

# stop_pid SVC PID: SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL
stop_pid() {
    local svc=$1 pid=$2 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "$svc: still alive after ${STOP_TIMEOUT}s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
}

# ---- readiness probes (fast, bounded) ---------------------------------------
pg_bin() {
    local v d
    if [[ -n "${PG_BIN:-}" ]]; then [[ -x "$PG_BIN/pg_ctl" ]] && { echo "$PG_BIN"; return 0; }; return 1; fi
    # prefer the major version the data directory was created with
    if [[ -r "$(pg_data_dir)/PG_VERSION" ]]; then
        read -r v <"$(pg_data_dir)/PG_VERSION"
        [[ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]] && { echo "/usr/lib/postgresql/$v/bin"; return 0; }
    fi
    # shellcheck disable=SC2012
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n "$d" && -x "$d/pg_ctl" ]] || return 1
    echo "$d"
}

pg_psql() { # DB SQL
    local bin; bin=$(pg_bin) || return 1
    PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=3 "$bin/psql" -X -q -t -A -h "$BIND" -p "$POSTGRES_PORT" \
        -U "$PG_ROLE" -d "$1" -c "$2" 2>/dev/null
}
probe_postgres() { [[ "$(pg_psql "$PG_DB" 'select 1')" == 1 ]]; }
probe_postgres_server() { [[ "$(pg_psql postgres 'select 1')" == 1 ]]; }

probe_redis() {
    # shellcheck disable=SC2016
    timeout 2 bash -c 'exec 3<>/dev/tcp/'"$BIND/$REDIS_PORT"' || exit 1
        printf "PING\r\n" >&3; IFS= read -r l <&3; [[ $l == +PONG* ]]' 2>/dev/null
}

probe_anvil() {
    local out
    out=$(curl -sS -m 3 -H 'Content-Type: application/json' \
        --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' \
        "http://$BIND:$ANVIL_PORT" 2>/dev/null) || return 1
    [[ "$out" == *'"result"'* ]]
}

probe_stripe_mock() {
    local out
    out=$(curl -sS -m 3 -H 'Authorization: Bearer sk_test_123' \
        "http://$BIND:$STRIPE_MOCK_PORT/v1/payment_intents" -d amount=100 -d currency=usd 2>/dev/null) || return 1
    [[ "$out" == *'"id"'* ]]
}

# Mailpit's HTTP API (the tests read delivered mail through it) and its SMTP greeting.
probe_mailpit() {
    curl -sS -m 3 -o /dev/null -f "http://$BIND:$MAILPIT_HTTP_PORT/readyz" 2>/dev/null || return 1
    # shellcheck disable=SC2016
    timeout 2 bash -c 'exec 3<>/dev/tcp/'"$BIND/$MAILPIT_SMTP_PORT"' || exit 1
        IFS= read -r l <&3; printf "QUIT\r\n" >&3; [[ $l == 220* ]]' 2>/dev/null
}

# Prometheus and Alertmanager answer /-/ready once they serve.
probe_prometheus() { curl -sS -m 3 -o /dev/null -f "http://$BIND:$PROMETHEUS_PORT/-/ready" 2>/dev/null; }
probe_alertmanager() { curl -sS -m 3 -o /dev/null -f "http://$BIND:$ALERTMANAGER_PORT/-/ready" 2>/dev/null; }
# Jaeger: its health check says the pipeline is up; the query API answers; OTLP/HTTP accepts.
probe_jaeger() {
    curl -sS -m 3 -o /dev/null -f "http://$BIND:$JAEGER_HEALTH_PORT/status" 2>/dev/null || return 1
    curl -sS -m 3 -o /dev/null -f "http://$BIND:$JAEGER_UI_PORT/api/services" 2>/dev/null || return 1
    tcp_open "$JAEGER_OTLP_HTTP_PORT"
}

answers() { "$(fn_name probe "$1")"; }

# ---- installers -------------------------------------------------------------
# apt_install PKG...: apt-get update once (per hour), then install; waits for the dpkg lock
apt_install() {
    ((EUID == 0)) || die "need root to apt-get install $* (install it yourself, then re-run)"
    ensure_dirs
    (
        flock -w 900 9 || die "timed out waiting for $RUN_DIR/apt.lock"
        export DEBIAN_FRONTEND=noninteractive
        if [[ -z "$(find "$RUN_DIR/apt-updated" -mmin -60 2>/dev/null)" ]]; then
            apt-get -q -o DPkg::Lock::Timeout=300 update || echo "warning: apt-get update failed" >&2
            touch "$RUN_DIR/apt-updated"
        fi
        apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "$@"
    ) 9>"$RUN_DIR/apt.lock"
}

# run_logged SVC CMD...: run an install step with its output in .local/log/install-SVC.log
run_logged() {
    local svc=$1; shift
    local f="$LOG_DIR/install-$svc.log"
    printf '\n$ %s\n' "$*" >>"$f"
    if ! "$@" >>"$f" 2>&1; then
        show_log_tail "$svc" "$f" 30
        die "$svc: install step failed: $* (log: $f)"
    fi
}

need_cmd() { # CMD APT-PACKAGE SVC
    command -v "$1" >/dev/null 2>&1 && return 0
    [[ -n "$2" ]] || die "${3:-ops}: '$1' is not installed and there is no package to install it from"
    run_logged "${3:-ops}" apt_install "$2"
    command -v "$1" >/dev/null 2>&1 || die "${3:-ops}: '$1' still missing after installing $2"
}

installed_postgres() { pg_bin >/dev/null && id -u "$PG_OS_USER" >/dev/null 2>&1; }
install_postgres() {
    pg_bin >/dev/null || run_logged postgres apt_install postgresql
    pg_bin >/dev/null || die "postgres: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
    if ((EUID == 0)) && ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin "$PG_OS_USER"
    fi
}

installed_redis() { command -v redis-server >/dev/null 2>&1; }
install_redis() {
    installed_redis || run_logged redis apt_install redis-server
    installed_redis || die "redis: redis-server still missing after apt-get install"
}

kafka_key() { echo "kafka_2.13=$KAFKA_VERSION kafka-tools=$KAFKA_VERSION log4j-slf4j-impl=$LOG4J_VERSION"; }
installed_kafka() {
    [[ -f "$KAFKA_HOME/.installed" && "$(<"$KAFKA_HOME/.installed")" == "$(kafka_key)" && -d "$KAFKA_HOME/libs" ]] &&
        command -v java >/dev/null 2>&1
}
install_kafka() {
    installed_kafka && return 0
    need_cmd java openjdk-17-jre-headless kafka
    need_cmd mvn maven kafka
    mkdir -p "$KAFKA_HOME/build"
    rm -rf "$KAFKA_HOME/libs.new"
    cat >"$KAFKA_HOME/build/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by ops/lib.sh: resolves the Kafka broker + tools jars and their runtime deps -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.mintdrop</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
    run_logged kafka mvn -B -q -f "$KAFKA_HOME/build/pom.xml" \
        "org.apache.maven.plugins:maven-dependency-plugin:$MVN_DEPENDENCY_PLUGIN:copy-dependencies" \
        -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs.new"
    [[ -f "$KAFKA_HOME/libs.new/kafka_2.13-$KAFKA_VERSION.jar" ]] ||
        die "kafka: kafka_2.13-$KAFKA_VERSION.jar missing after mvn"
    rm -rf "$KAFKA_HOME/libs"
    mv "$KAFKA_HOME/libs.new" "$KAFKA_HOME/libs"
    kafka_key >"$KAFKA_HOME/.installed"
}

node_key() { cat "$OPS_DIR/node/package.json" "$OPS_DIR/node/package-lock.json" "$OPS_DIR/node/.npmrc" | sha256sum | cut -d' ' -f1; }
anvil_bin() {
    local b
    for b in "$NODE_DIR"/node_modules/@foundry-rs/anvil-linux-*/bin/anvil; do
        [[ -x "$b" ]] && { echo "$b"; return 0; }
    done
    return 1
}
installed_anvil() {
    [[ -f "$NODE_DIR/.installed" && "$(<"$NODE_DIR/.installed")" == "$(node_key)" ]] && anvil_bin >/dev/null
}
install_anvil() { # installs every node tool of ops/node (anvil, solc, openzeppelin, ...)
    installed_anvil && return 0
    command -v npm >/dev/null 2>&1 || die "anvil: npm is not installed (node 20+ with npm is needed)"
    mkdir -p "$NODE_DIR"
    cp "$OPS_DIR/node/package.json" "$OPS_DIR/node/package-lock.json" "$OPS_DIR/node/.npmrc" "$NODE_DIR/"
    (cd "$NODE_DIR" && run_logged anvil npm ci --no-audit --no-fund --ignore-scripts)
    anvil_bin >/dev/null || die "anvil: binary not found under $NODE_DIR/node_modules/@foundry-rs/ after npm ci"
    node_key >"$NODE_DIR/.installed"
}

installed_stripe_mock() {
    [[ -x "$BIN_DIR/stripe-mock" && -f "$BIN_DIR/.stripe-mock.installed" &&
        "$(<"$BIN_DIR/.stripe-mock.installed")" == "$STRIPE_MOCK_VERSION" ]]
}
install_stripe_mock() {
    installed_stripe_mock && return 0
    command -v go >/dev/null 2>&1 || die "stripe-mock: the go toolchain is not installed"
    (cd "$TOOLS_DIR" && run_logged stripe-mock env GOBIN="$BIN_DIR" GOFLAGS='' GOWORK=off \
        go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION")
    echo "$STRIPE_MOCK_VERSION" >"$BIN_DIR/.stripe-mock.installed"
}

installed_mailpit() {
    [[ -x "$BIN_DIR/mailpit" && -f "$BIN_DIR/.mailpit.installed" &&
        "$(<"$BIN_DIR/.mailpit.installed")" == "$MAILPIT_VERSION" ]]
}
install_mailpit() {
    installed_mailpit && return 0
    command -v go >/dev/null 2>&1 || die "mailpit: the go toolchain is not installed"
    # first build ≈ 1 min on 2 cores; the binary is cached in .local/tools/bin
    (cd "$TOOLS_DIR" && run_logged mailpit env GOBIN="$BIN_DIR" GOFLAGS='' GOWORK=off \
        go install "github.com/axllent/mailpit@$MAILPIT_VERSION")
    echo "$MAILPIT_VERSION" >"$BIN_DIR/.mailpit.installed"
}

# apt_install_no_start PKG...: Debian's packages of daemons (prometheus, alertmanager) start their
# service from the postinst; with no systemd (containers) that would spawn one on 0.0.0.0 with the
# distribution's config. A policy-rc.d that refuses every start, for the duration, prevents it:
# ops/ runs the binaries itself with our config under .local/.
apt_install_no_start() {
    local policy=/usr/sbin/policy-rc.d added=0 rc=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\n# written by mintdrop ops/lib.sh during an install; removed after it\nexit 101\n' >"$policy"
        chmod +x "$policy"
        added=1
    fi
    apt_install "$@" || rc=$?
    ((added)) && rm -f "$policy"
    return "$rc"
}

# Prometheus (Debian's package, which ships promtool too) and Alertmanager: run by ops/ on
# 127.0.0.1 with a config generated from monitoring/ports.py (monitoring/promconfig.py).
PROMETHEUS_BIN=/usr/bin/prometheus
ALERTMANAGER_BIN=/usr/bin/prometheus-alertmanager
installed_prometheus() { [[ -x "$PROMETHEUS_BIN" ]] && command -v promtool >/dev/null 2>&1; }
install_prometheus() {
    installed_prometheus && return 0
    run_logged prometheus apt_install_no_start prometheus
    installed_prometheus || die "prometheus: still missing after apt-get install prometheus"
}
installed_alertmanager() { [[ -x "$ALERTMANAGER_BIN" ]]; }
install_alertmanager() {
    installed_alertmanager && return 0
    run_logged alertmanager apt_install_no_start prometheus-alertmanager
    installed_alertmanager || die "alertmanager: still missing after apt-get install prometheus-alertmanager"
}
installed_jaeger() {
    [[ -x "$BIN_DIR/jaeger" && -f "$BIN_DIR/.jaeger.installed" &&
        "$(<"$BIN_DIR/.jaeger.installed")" == "$JAEGER_VERSION" ]]
}
install_jaeger() {
    installed_jaeger && return 0
    command -v go >/dev/null 2>&1 || die "jaeger: the go toolchain is not installed"
    # `go install pkg@version` refuses jaeger (its go.mod has replace directives), so it is built
    # in a throw-away module of its own. First build ≈ 6 min on 2 cores (121 MB binary), cached in
    # .local/tools/bin like the other Go tools.
    local mod="$TOOLS_DIR/jaeger-build"
    rm -rf "$mod"
    mkdir -p "$mod"
    (cd "$mod" && run_logged jaeger env GOFLAGS='' GOWORK=off go mod init mintdrop.local/jaeger-build &&
        run_logged jaeger env GOFLAGS='' GOWORK=off \
            go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION" &&
        run_logged jaeger env GOFLAGS='' GOWORK=off \
            go build -o "$BIN_DIR/jaeger.new" github.com/jaegertracing/jaeger/cmd/jaeger)
    mv -f "$BIN_DIR/jaeger.new" "$BIN_DIR/jaeger"
    rm -rf "$mod"
    echo "$JAEGER_VERSION" >"$BIN_DIR/.jaeger.installed"
}

# Headless Chromium for the browser end-to-end tests (Debian's package; Playwright drives it, no
# browser download). Install-only: `ops/install` with no args (or `ops/install browser`) runs it.
# ffmpeg (Debian's package) cuts the demo show's test video into HLS segments (`manage.py seed_demo_show`).
# Install-only, like the browser: `ops/install` with no args (or `ops/install ffmpeg`) runs it.
installed_ffmpeg() { command -v ffmpeg >/dev/null 2>&1; }
install_ffmpeg() {
    installed_ffmpeg && return 0
    run_logged ffmpeg apt_install ffmpeg
    installed_ffmpeg || die "ffmpeg: still missing after apt-get install ffmpeg"
}

installed_browser() { [[ -x /usr/bin/chromium && -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]]; }
install_browser() {
    installed_browser && return 0
    # the emoji font renders the show reaction buttons (boxes otherwise)
    run_logged browser apt_install chromium fonts-dejavu-core fonts-noto-color-emoji
    installed_browser || die "browser: /usr/bin/chromium still missing after apt-get install chromium"
}

installed() { "$(fn_name installed "$1")"; }
install_one() {
    ensure_dirs
    local t=$SECONDS
    if installed "$1"; then return 0; fi
    "$(fn_name install "$1")"
    note "$1" "installed ($((SECONDS - t))s)"
}

# ---- service starters (each: start if not running, then wait until it answers) ----
as_pg_user() { # (fds 8/9 are ops/ lock files: don't let the server inherit them)
    if ((EUID == 0)); then (cd / && runuser -u "$PG_OS_USER" -- "$@" 8>&- 9>&-); else "$@" 8>&- 9>&-; fi
}

# make sure the PG OS user can traverse every parent directory of the repo
pg_ensure_traversable() {
    ((EUID == 0)) || return 0
    local d=$1
    while [[ "$d" != / && -n "$d" ]]; do
        if ! runuser -u "$PG_OS_USER" -- test -x "$d" 2>/dev/null; then
            chmod o+x "$d"
            echo "postgres: chmod o+x $d (so user $PG_OS_USER can reach its data dir)" >&2
        fi
        d=$(dirname "$d")
    done
}

start_postgres() {
    local bin data log pid out
    data=$(pg_data_dir)
    bin=$(pg_bin) || die "postgres: not installed"
    log="$(log_file postgres)"
    if ! is_running postgres; then
        check_port_free postgres "$POSTGRES_PORT"
        mkdir -p "$LOCAL_DIR/$PG_INSTANCE"
        rotate_log "$PG_INSTANCE"
        pg_ensure_traversable "$LOCAL_DIR/$PG_INSTANCE"
        if [[ ! -f "$data/PG_VERSION" ]]; then
            rm -rf "$data"
            mkdir -p "$data"
            local pw; pw=$(mktemp)
            echo "$PG_PASSWORD" >"$pw"
            if ((EUID == 0)); then chown "$PG_OS_USER:" "$data" "$pw"; fi
            chmod 700 "$data"
            local locale=C
            locale -a 2>/dev/null | grep -qix 'c.utf-\?8' && locale=C.UTF-8
            if ! as_pg_user "$bin/initdb" -D "$data" -U "$PG_ROLE" --pwfile="$pw" -E UTF8 --locale="$locale" \
                --auth-local=trust --auth-host=scram-sha-256 >>"$log" 2>&1; then
                rm -f "$pw"
                show_log_tail postgres
                die "postgres: initdb failed (log: $log)"
            fi
            rm -f "$pw"
            printf "\n# mintdrop: settings managed by ops/ (rewritten on every start)\ninclude_if_exists = 'mintdrop.conf'\n" >>"$data/postgresql.conf"
        fi
        if ((EUID == 0)) && [[ "$(stat -c %U "$data")" != "$PG_OS_USER" ]]; then
            chown -R "$PG_OS_USER:" "$LOCAL_DIR/$PG_INSTANCE"
        fi
        cat >"$data/mintdrop.conf" <<EOF
# written by ops/lib.sh on every start; edit ops/lib.sh instead
listen_addresses = '$BIND'
port = $POSTGRES_PORT
unix_socket_directories = ''
max_connections = 300
shared_buffers = 256MB
EOF
        if ((EUID == 0)); then chown "$PG_OS_USER:" "$data/mintdrop.conf" "$log"; fi
        if ! out=$(as_pg_user "$bin/pg_ctl" -D "$data" -l "$log" -w -t "$START_TIMEOUT" start 2>&1); then
            printf '%s\n' "$out" >&2
            show_log_tail postgres
            die "postgres failed to start (log: $log)"
        fi
        read -r pid <"$data/postmaster.pid" && echo "$pid" >"$(pid_file postgres)"
    fi
    wait_for postgres probe_postgres_server "$START_TIMEOUT"
    if [[ "$(pg_psql postgres "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]]; then
        pg_psql postgres "CREATE DATABASE $PG_DB OWNER $PG_ROLE" >/dev/null ||
            die "postgres: could not create database $PG_DB"
    fi
    probe_postgres || die "postgres: server is up but database $PG_DB does not answer"
}

start_redis() {
    if ! is_running redis; then
        check_port_free redis "$REDIS_PORT"
        mkdir -p "$LOCAL_DIR/redis"
        rotate_log redis
        spawn redis redis-server --bind "$BIND" --port "$REDIS_PORT" --dir "$LOCAL_DIR/redis" \
            --save '' --appendonly no --daemonize no --protected-mode yes --logfile ''
    fi
    wait_for redis probe_redis "$START_TIMEOUT"
}

# anvil_args: the flags for the chosen mode.
#   ANVIL_MODE=auto (default): one block per transaction, nothing else (deterministic tests)
#   ANVIL_MODE=live: like a real chain, a block every ANVIL_BLOCK_TIME seconds even when idle,
#                    and each transaction still mined at once (--mixed-mining), state kept in
#                    .local/anvil/dev-chain.json; `make dev` uses it
anvil_args() {
    ANVIL_ARGS=(--host "$BIND" --port "$ANVIL_PORT" --chain-id "$CHAIN_ID" --mnemonic "$ANVIL_MNEMONIC" \
        --prune-history 64)  # --prune-history keeps memory bounded (without it anvil ballooned under load)
    case "${ANVIL_MODE:-auto}" in
        auto) ;;
        # The dev chain is kept on disk (dumped on SIGTERM, loaded at start) so it stays in step
        # with the dev database when anvil restarts, e.g. after a `make test` switched modes.
        live) mkdir -p "$LOCAL_DIR/anvil"
            ANVIL_ARGS+=(--block-time "${ANVIL_BLOCK_TIME:-1}" --mixed-mining --state "$LOCAL_DIR/anvil/dev-chain.json") ;;
        *) die "anvil: ANVIL_MODE must be auto or live, not ${ANVIL_MODE}" ;;
    esac
    local -a extra=()
    read -ra extra <<<"${ANVIL_EXTRA_ARGS:-}"
    ANVIL_ARGS+=("${extra[@]}")
}

start_anvil() {
    anvil_args
    local args_file="$RUN_DIR/anvil.args" wanted
    wanted="${ANVIL_ARGS[*]}"
    if is_running anvil && [[ "$(cat "$args_file" 2>/dev/null)" != "$wanted" ]]; then
        # auto mode keeps the chain in memory only; live mode reloads the dev chain from disk.
        note anvil "restarting in mode ${ANVIL_MODE:-auto}"
        stop_one_locked anvil >/dev/null
    fi
    if ! is_running anvil; then
        check_port_free anvil "$ANVIL_PORT"
        local bin; bin=$(anvil_bin) || die "anvil: not installed"
        rotate_log anvil
        spawn anvil "$bin" "${ANVIL_ARGS[@]}"
        printf '%s' "$wanted" >"$args_file"
    fi
    wait_for anvil probe_anvil "$START_TIMEOUT"
}

start_stripe_mock() {
    if ! is_running stripe-mock; then
        check_port_free stripe-mock "$STRIPE_MOCK_PORT"
        check_port_free stripe-mock "$STRIPE_MOCK_HTTPS_PORT"
        rotate_log stripe-mock
        spawn stripe-mock "$BIN_DIR/stripe-mock" -http-addr "$BIND:$STRIPE_MOCK_PORT" -https-addr "$BIND:$STRIPE_MOCK_HTTPS_PORT"
    fi
    wait_for stripe-mock probe_stripe_mock "$START_TIMEOUT"
}

# Mailpit: SMTP (no auth, plain) and its web UI / HTTP API, both on 127.0.0.1; the messages live in
# .local/mailpit/mailpit.db (kept across restarts, so mail accepted before a restart is still there).
# --disable-version-check: it would otherwise look up its latest release on every start.
start_mailpit() {
    if ! is_running mailpit; then
        check_port_free mailpit "$MAILPIT_SMTP_PORT"
        check_port_free mailpit "$MAILPIT_HTTP_PORT"
        mkdir -p "$LOCAL_DIR/mailpit"
        rotate_log mailpit
        spawn mailpit "$BIN_DIR/mailpit" --smtp "$BIND:$MAILPIT_SMTP_PORT" --listen "$BIND:$MAILPIT_HTTP_PORT" \
            --database "$LOCAL_DIR/mailpit/mailpit.db" --max "${MAILPIT_MAX_MESSAGES:-5000}" \
            --smtp-auth-accept-any --smtp-auth-allow-insecure --disable-version-check
    fi
    wait_for mailpit probe_mailpit "$START_TIMEOUT"
}

# Prometheus: config (every process's target + ops/prometheus/rules) rewritten on every start; a
# running one reloads it. Data in .local/prometheus/data (7 days), UI on 127.0.0.1:$PROMETHEUS_PORT.
start_prometheus() {
    local d="$LOCAL_DIR/prometheus"
    mkdir -p "$d/data"
    (cd "$ROOT" && python3 -m monitoring.promconfig --out "$d/prometheus.yml" --alertmanager-port "$ALERTMANAGER_PORT") ||
        die "prometheus: could not write $d/prometheus.yml"
    promtool check config "$d/prometheus.yml" >>"$LOG_DIR/install-prometheus.log" 2>&1 ||
        die "prometheus: $d/prometheus.yml or the rules are not valid (promtool check config $d/prometheus.yml)"
    if is_running prometheus; then
        curl -sS -m 5 -o /dev/null -X POST "http://$BIND:$PROMETHEUS_PORT/-/reload" 2>/dev/null || true
    else
        check_port_free prometheus "$PROMETHEUS_PORT"
        rotate_log prometheus
        spawn prometheus "$PROMETHEUS_BIN" --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/data" \
            --storage.tsdb.retention.time=7d --web.listen-address="$BIND:$PROMETHEUS_PORT" --web.enable-lifecycle
    fi
    wait_for prometheus probe_prometheus "$START_TIMEOUT"
}

# Alertmanager (optional in dev): one receiver that notifies nobody; firing alerts show in its UI.
# Clustering off (it would listen on 0.0.0.0:9094).
start_alertmanager() {
    local d="$LOCAL_DIR/alertmanager"
    if ! is_running alertmanager; then
        check_port_free alertmanager "$ALERTMANAGER_PORT"
        mkdir -p "$d/data"
        printf '%s\n' '# written by ops/lib.sh on every start; edit ops/lib.sh instead' \
            'route: {receiver: dev-ui, group_by: [alertname]}' 'receivers: [{name: dev-ui}]' >"$d/alertmanager.yml"
        rotate_log alertmanager
        spawn alertmanager "$ALERTMANAGER_BIN" --config.file="$d/alertmanager.yml" --storage.path="$d/data" \
            --web.listen-address="$BIND:$ALERTMANAGER_PORT" --cluster.listen-address=
    fi
    wait_for alertmanager probe_alertmanager "$START_TIMEOUT"
}

# Jaeger v2 (an OpenTelemetry Collector with Jaeger's storage and query inside), all-in-one with
# in-memory storage (traces are gone after a restart; JAEGER_MAX_TRACES bounds its memory).
# Every listener is on 127.0.0.1 and on our own ports (its defaults bind all interfaces);
# receivers other than OTLP, sampling, zpages and its own metrics endpoint are left out.
jaeger_write_config() {
    mkdir -p "$LOCAL_DIR/jaeger"
    cat >"$LOCAL_DIR/jaeger/config.yaml" <<EOF
# written by ops/lib.sh on every start; edit ops/lib.sh instead
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: "$BIND:$JAEGER_UI_PORT"
    grpc:
      endpoint: "$BIND:$JAEGER_QUERY_GRPC_PORT"
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: ${JAEGER_MAX_TRACES:-50000}
  healthcheckv2:
    use_v2: true
    http:
      endpoint: "$BIND:$JAEGER_HEALTH_PORT"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: "$BIND:$JAEGER_OTLP_GRPC_PORT"
      http:
        endpoint: "$BIND:$JAEGER_OTLP_HTTP_PORT"
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
EOF
}

start_jaeger() {
    if ! is_running jaeger; then
        local p
        for p in "$JAEGER_OTLP_GRPC_PORT" "$JAEGER_OTLP_HTTP_PORT" "$JAEGER_UI_PORT" \
            "$JAEGER_QUERY_GRPC_PORT" "$JAEGER_HEALTH_PORT"; do
            check_port_free jaeger "$p"
        done
        jaeger_write_config
        rotate_log jaeger
        spawn jaeger "$BIN_DIR/jaeger" --config "$LOCAL_DIR/jaeger/config.yaml"
    fi
    wait_for jaeger probe_jaeger "$START_TIMEOUT"
}

# with_service_lock SVC CMD...: serialize concurrent ops/ commands on the same service
with_service_lock() {
    local svc=$1; shift
    (
        flock -w 600 8 || die "$svc: timed out waiting for another ops/ command on it"
        "$@"
    ) 8>"$RUN_DIR/$svc.lock"
}

start_one() { with_service_lock "$1" start_one_locked "$1"; }
start_one_locked() {
    install_one "$1"
    "$(fn_name start "$1")"
    ready_line "$1"
}

stop_one() { with_service_lock "$1" stop_one_locked "$1"; }
stop_one_locked() {
    local svc=$1 pid
    if [[ "$svc" == kafka ]]; then # every node, whatever the cluster's size
        stop_kafka_units
        status_line kafka stopped
        return 0
    fi
    if ! pid=$(service_pid "$svc"); then
        rm -f "$(pid_file "$svc")"
        status_line "$svc" stopped
        return 0
    fi
    if [[ "$svc" == postgres ]]; then
        local bin; bin=$(pg_bin)
        as_pg_user "$bin/pg_ctl" -D "$(pg_data_dir)" stop -m fast -w -t 30 >/dev/null 2>&1 ||
            stop_pid "$svc" "$pid"
    else
        stop_pid "$svc" "$pid"
    fi
    rm -f "$(pid_file "$svc")"
    status_line "$svc" stopped
}

# run_parallel FUNC SVC...: run FUNC SVC for each service concurrently; print each
# service's output as one block when it finishes; fail if any failed.
run_parallel() {
    local fn=$1; shift
    local tmp svc rc=0 r done_pid n=0
    local -A svc_of=()
    tmp=$(mktemp -d "$RUN_DIR/parallel.XXXXXX")
    for svc in "$@"; do
        ("$fn" "$svc") >"$tmp/$svc.out" 2>&1 &
        svc_of[$!]=$svc
        n=$((n + 1))
    done
    while ((n > 0)); do
        r=0
        wait -n -p done_pid || r=$?
        [[ -n "${done_pid:-}" && -n "${svc_of[$done_pid]:-}" ]] || continue
        svc=${svc_of[$done_pid]}
        cat "$tmp/$svc.out"
        ((r == 0)) || rc=1
        n=$((n - 1))
    done
    rm -rf "$tmp"
    return "$rc"
}
