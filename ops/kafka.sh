#!/usr/bin/env bash
# ops/kafka.sh — the local Kafka: one KRaft node (default) or a cluster of KAFKA_BROKERS nodes.
# Sourced by ops/lib.sh; don't run it.
#
# Every node is a combined broker+controller (process.roles=broker,controller) and the controller
# quorum is every node (static voters). Why combined rather than separate controllers: on a 2-core
# box three JVMs are what we can afford, a separate controller quorum would be three more (or one,
# which would be a single point of failure and hide what a quorum does). Three voters still
# survive one node down, like the brokers (RF 3, min.insync.replicas 2).
#
#   node n (1-based) listens on KAFKA_PORT + (n-1)*KAFKA_PORT_STEP, its controller on
#   KAFKA_CONTROLLER_PORT + (n-1)*KAFKA_PORT_STEP (defaults 59092/59093, step 100: 59192/59193, …)
#   state: KAFKA_DATA_DIR (default .local/kafka for one node, .local/kafka-<N> for N nodes)
#          one node:  <dir>/{data,server.properties}, log .local/log/kafka.log, pid run/kafka.pid
#          N nodes:   <dir>/node-<n>/{data,server.properties}, logs .local/log/kafka-<n>.log,
#                     pids run/kafka-<n>.pid
#   run/kafka.mode records what runs; `ops/start kafka` with another KAFKA_BROKERS (or other ports)
#   stops it and starts the one asked for; `ops/stop kafka` stops every node it started.

kafka_brokers() {
    local n=${KAFKA_BROKERS:-1}
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "kafka: KAFKA_BROKERS must be a positive number, not '$n'"
    echo "$n"
}
kafka_node_port() { echo $((KAFKA_PORT + ($1 - 1) * ${KAFKA_PORT_STEP:-100})); }
kafka_node_controller_port() { echo $((KAFKA_CONTROLLER_PORT + ($1 - 1) * ${KAFKA_PORT_STEP:-100})); }

# kafka_units: the ops/ unit names of the wanted nodes (pid and log file names)
kafka_units() {
    local n i; n=$(kafka_brokers)
    if ((n == 1)); then echo kafka; return 0; fi
    for ((i = 1; i <= n; i++)); do echo "kafka-$i"; done
}
# kafka_unit_node UNIT: the node id of a unit (kafka -> 1, kafka-3 -> 3)
kafka_unit_node() { if [[ "$1" == kafka ]]; then echo 1; else echo "${1#kafka-}"; fi; }
kafka_unit_port() { kafka_node_port "$(kafka_unit_node "$1")"; }

kafka_dir() {
    local n; n=$(kafka_brokers)
    if [[ -n "${KAFKA_DATA_DIR:-}" ]]; then echo "$KAFKA_DATA_DIR"
    elif ((n == 1)); then echo "$LOCAL_DIR/kafka"
    else echo "$LOCAL_DIR/kafka-$n"; fi
}
kafka_unit_dir() { # where a unit's data/ and server.properties live
    if [[ "$1" == kafka ]]; then kafka_dir; else echo "$(kafka_dir)/node-$(kafka_unit_node "$1")"; fi
}

kafka_bootstrap() { # the bootstrap.servers list of the wanted nodes
    local n i out=""; n=$(kafka_brokers)
    for ((i = 1; i <= n; i++)); do out+="${out:+,}$BIND:$(kafka_node_port "$i")"; done
    echo "$out"
}
kafka_addr() { kafka_bootstrap; }

# Replication of every topic (ours and Kafka's internal ones): 3 copies and 2 in sync for a write
# once there are 3 brokers; as many as there are brokers below that.
kafka_rf() { local n; n=$(kafka_brokers); echo $((n < 3 ? n : 3)); }
kafka_min_isr() { local rf; rf=$(kafka_rf); echo $((rf >= 3 ? 2 : 1)); }

kafka_mode() { # what run/kafka.mode holds for the wanted cluster
    echo "brokers=$(kafka_brokers) bootstrap=$(kafka_bootstrap) dir=$(kafka_dir)"
}

# The pid of a unit's live broker process, or fail.
kafka_unit_pid() {
    local f pid
    f="$(pid_file "$1")"
    [[ -r "$f" ]] && read -r pid <"$f" && [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- kafka.Kafka || return 1
    echo "$pid"
}
# Units (of any size) that this checkout's ops/ started and that still run.
kafka_running_units() {
    local f u
    for f in "$RUN_DIR"/kafka.pid "$RUN_DIR"/kafka-*.pid; do
        [[ -e "$f" ]] || continue
        u=$(basename "$f" .pid)
        kafka_unit_pid "$u" >/dev/null && echo "$u"
    done
    return 0
}
# Every wanted node runs, and what runs is what is wanted.
kafka_running() {
    local u
    [[ "$(cat "$RUN_DIR/kafka.mode" 2>/dev/null)" == "$(kafka_mode)" ]] || {
        # a single node started before run/kafka.mode existed is still the default one
        [[ "$(kafka_brokers)" == 1 && ! -e "$RUN_DIR/kafka.mode" ]] || return 1
    }
    for u in $(kafka_units); do kafka_unit_pid "$u" >/dev/null || return 1; done
}

# A raw Kafka ApiVersions (v0) request; any broker answers it with our correlation id (42).
probe_kafka_port() {
    local out
    out=$(timeout 3 bash -c 'exec 3<>/dev/tcp/'"$BIND/$1"' || exit 1
        printf "\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x2a\x00\x02md" >&3
        head -c 8 <&3 | od -An -tx1' 2>/dev/null) || return 1
    out=${out//[[:space:]]/}
    [[ ${#out} == 16 && "$out" == *0000002a ]] # int32 size, then our correlation id
}
probe_kafka_api() { probe_kafka_port "$KAFKA_PORT"; }
probe_kafka() { # every wanted node answers
    local i n; n=$(kafka_brokers)
    for ((i = 1; i <= n; i++)); do probe_kafka_port "$(kafka_node_port "$i")" || return 1; done
}
kafka_started_in_log() { grep -q 'Kafka Server started' "$(log_file "${1:-kafka}")" 2>/dev/null; }

kafka_write_config() { # UNIT
    local unit=$1 node d voters="" i n rf isr
    node=$(kafka_unit_node "$unit")
    d=$(kafka_unit_dir "$unit")
    n=$(kafka_brokers)
    rf=$(kafka_rf)
    isr=$(kafka_min_isr)
    for ((i = 1; i <= n; i++)); do voters+="${voters:+,}$i@$BIND:$(kafka_node_controller_port "$i")"; done
    mkdir -p "$d/data"
    cat >"$d/server.properties" <<EOF
# written by ops/kafka.sh on every start; edit ops/kafka.sh instead
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=PLAINTEXT://$BIND:$(kafka_node_port "$node"),CONTROLLER://$BIND:$(kafka_node_controller_port "$node")
advertised.listeners=PLAINTEXT://$BIND:$(kafka_node_port "$node")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$d/data
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.network.threads=2
num.io.threads=$((n == 1 ? 4 : 2))
num.replica.fetchers=1
num.recovery.threads.per.data.dir=1
log.retention.hours=168
log.segment.bytes=134217728
EOF
    cat >"$(kafka_dir)/log4j2.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- written by ops/kafka.sh: Kafka logs to stdout, which ops/ redirects to .local/log/kafka*.log -->
<Configuration status="WARN">
  <Appenders>
    <Console name="STDOUT" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="STDOUT"/></Root>
    <Logger name="kafka.server.KafkaRaftServer" level="INFO"/>
    <Logger name="kafka.server.BrokerServer" level="INFO"/>
    <Logger name="kafka.server.ControllerServer" level="INFO"/>
    <Logger name="org.apache.kafka.common.utils.AppInfoParser" level="INFO"/>
    <Logger name="kafka.tools.StorageTool" level="INFO"/>
  </Loggers>
</Configuration>
EOF
}

# kafka_cmd: sets KAFKA_CMD=(java ...options... -cp libs/*); append main class + args.
# A cluster's nodes get a smaller heap each (KAFKA_NODE_HEAP_OPTS) unless KAFKA_HEAP_OPTS is set.
kafka_cmd() {
    local -a heap
    local opts=$KAFKA_HEAP_OPTS
    if (($(kafka_brokers) > 1)) && [[ -z "${KAFKA_HEAP_OPTS_SET:-}" ]]; then
        opts=${KAFKA_NODE_HEAP_OPTS:--Xms128m -Xmx512m}
    fi
    read -ra heap <<<"$opts"
    KAFKA_CMD=(java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$(kafka_dir)/log4j2.xml" \
        -cp "$KAFKA_HOME/libs/*")
}

stop_kafka_units() { # stop every node this checkout started, whatever its size
    local u pid
    for u in $(kafka_running_units); do
        pid=$(kafka_unit_pid "$u") && stop_pid "$u" "$pid"
    done
    rm -f "$RUN_DIR"/kafka.pid "$RUN_DIR"/kafka-*.pid "$RUN_DIR/kafka.mode"
}

start_kafka() {
    local k u d i n
    k=$(kafka_dir)
    n=$(kafka_brokers)
    if ! kafka_running; then
        if [[ -n "$(kafka_running_units)" ]]; then
            note kafka "restarting as $n broker(s) on $(kafka_bootstrap) (was: $(cat "$RUN_DIR/kafka.mode" 2>/dev/null || echo 'one node'))"
            stop_kafka_units
        fi
        for ((i = 1; i <= n; i++)); do
            check_port_free kafka "$(kafka_node_port "$i")"
            check_port_free kafka "$(kafka_node_controller_port "$i")"
        done
        mkdir -p "$k"
        if [[ ! -s "$k/cluster.id" ]]; then
            # a Kafka Uuid: 16 random bytes, base64url without padding (may start with '-')
            head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$k/cluster.id"
        fi
        kafka_cmd
        for u in $(kafka_units); do
            d=$(kafka_unit_dir "$u")
            kafka_write_config "$u"
            rotate_log "$u"
            if [[ ! -f "$d/data/meta.properties" ]]; then
                # static voters: every node is formatted with the same cluster id
                if ! "${KAFKA_CMD[@]}" kafka.tools.StorageTool format --cluster-id="$(<"$k/cluster.id")" \
                    -c "$d/server.properties" --ignore-formatted >>"$(log_file "$u")" 2>&1; then
                    show_log_tail "$u"
                    die "kafka: formatting the storage in $d/data failed"
                fi
            fi
        done
        # all nodes first: a node finishes starting only once the controller quorum has a leader
        for u in $(kafka_units); do spawn "$u" "${KAFKA_CMD[@]}" kafka.Kafka "$(kafka_unit_dir "$u")/server.properties"; done
        kafka_mode >"$RUN_DIR/kafka.mode"
    fi
    for u in $(kafka_units); do
        wait_for "$u" "kafka_started_in_log $u && probe_kafka_port $(kafka_unit_port "$u")" "$KAFKA_START_TIMEOUT"
    done
}

# status / stop for `ops/status` and `ops/stop`
kafka_status_line() {
    local u pids=""
    for u in $(kafka_units); do pids+="${pids:+ }$(kafka_unit_pid "$u" || echo "-")"; done
    echo "pid $pids"
}
