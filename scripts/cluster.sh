# shellcheck shell=bash
# The LOCAL CLUSTER topology, sourced by scripts/services.sh (which defines log, as_user, fresh_pidfile,
# daemon_pid, pid_is, stop_daemon, java_home, ES_BASE, RUN_DIR and the daemon users). For tests and benches
# that need more than one node of each backing service, next to (never instead of) the single-node stack:
#   Elasticsearch  kabar-c1..c3, cluster `kabar-cluster`, HTTP 127.0.0.1:9201-9203, transport 9301-9303
#   RabbitMQ       kabar-c1..c3@localhost, AMQP 127.0.0.1:5701-5703, distribution 25701-25703, epmd 4371
#   Redis          primary 127.0.0.1:6391, replica 6392 (AOF on both), Sentinels 26391-26393 (`kabar-cluster`)
# Ports are fixed (tests, benches and `cluster-env` depend on them): one cluster per machine. Everything else
# is per checkout (under $ES_BASE/cluster), and every process is found by a marker that names this checkout's
# folders, so another checkout's `down` never signals this cluster's daemons.
# Same least privilege as the single node: loopback only, each daemon as its own unprivileged user, pid files
# pre-created in the root-owned $RUN_DIR and checked against the process before any signal, sent as that user.

CLUSTER_DIR="$ES_BASE/cluster"
CLUSTER_NODES=(1 2 3)

# --- Elasticsearch ---------------------------------------------------------------------------------------
CLUSTER_ES_HEAP="${KABAR_CLUSTER_ES_HEAP:-512m}"
# The cluster's nodes run from a hard-linked copy of $ES_HOME (no extra disk): the server's command line
# carries nothing but -Des.path.home (its config path reaches it on stdin), so nodes started from $ES_HOME
# itself would match the single node's marker, and `stop-es` with no single node running would stop one of
# them. Each node's own marker is a system property naming its folder (-Dkabar.node=..., in its
# jvm.options.d).
CLUSTER_ES_HOME="$CLUSTER_DIR/elasticsearch-$ES_VERSION"
CLUSTER_ES_SNAPSHOTS="$CLUSTER_DIR/es-snapshots"
cluster_es_dir() { echo "$CLUSTER_DIR/es-$1"; }
cluster_es_http() { echo $((9200 + $1)); }
cluster_es_pidfile() { echo "$RUN_DIR/es-c$1.pid"; }
cluster_es_marker() { echo "-Dkabar.node=$(cluster_es_dir "$1")"; }
cluster_es_pid() { daemon_pid "$(cluster_es_pidfile "$1")" "$ES_USER" java "$(cluster_es_marker "$1")"; }

# Health from the first node that answers (any of them may be down in a fault test).
cluster_es_health() {
  local n
  for n in "${CLUSTER_NODES[@]}"; do
    curl -sf --max-time 5 "http://127.0.0.1:$(cluster_es_http "$n")/_cluster/health" 2>/dev/null && return
  done
  return 1
}
# Healthy: three nodes in the cluster, green or yellow.
cluster_es_ok() {
  local health
  health=$(cluster_es_health) || return 1
  [[ "$health" == *'"number_of_nodes":3,'* ]] && [[ "$health" =~ \"status\":\"(green|yellow)\" ]]
}
# Node $1 answers HTTP (its own view: no master needed).
cluster_es_node_up() { curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$(cluster_es_http "$1")/_cluster/health?local=true" 2>/dev/null; }

install_cluster_es() {
  if [ ! -x "$CLUSTER_ES_HOME/bin/elasticsearch" ]; then
    log "linking $CLUSTER_ES_HOME to $ES_HOME (hard links)"
    rm -rf "$CLUSTER_ES_HOME.tmp" && mkdir -p "$CLUSTER_DIR"
    cp -al "$ES_HOME" "$CLUSTER_ES_HOME.tmp" && mv "$CLUSTER_ES_HOME.tmp" "$CLUSTER_ES_HOME"
  fi
  chown root: "$CLUSTER_DIR" && chmod 755 "$CLUSTER_DIR"
  mkdir -p "$CLUSTER_ES_SNAPSHOTS" && chown "$ES_USER:" "$CLUSTER_ES_SNAPSHOTS"
}

# Node $1's config folder (ES_PATH_CONF): a copy of the home's (jvm.options, log4j2, hunspell id_ID, ...) with
# its own elasticsearch.yml and heap file. Rewritten only while the node is down; its keystore is kept.
cluster_es_config() {
  local n=$1 dir conf seeds
  dir=$(cluster_es_dir "$n")
  conf="$dir/config"
  mkdir -p "$conf" "$dir/data" "$dir/logs"
  (cd "$ES_HOME/config" && find . -mindepth 1 -maxdepth 1 ! -name elasticsearch.yml ! -name elasticsearch.keystore \
    ! -name jvm.options.d -exec cp -r {} "$conf/" \;)
  mkdir -p "$conf/jvm.options.d" "$conf/hunspell/id_ID"
  cp /usr/share/hunspell/id_ID.aff /usr/share/hunspell/id_ID.dic "$conf/hunspell/id_ID/"
  seeds='"127.0.0.1:9301", "127.0.0.1:9302", "127.0.0.1:9303"'
  # The single node's settings, with discovery among the three instead of single-node. The snapshot folder
  # is one for the cluster: a shared filesystem repository must be the same path on every node.
  cat >"$conf/elasticsearch.yml" <<YML
# Written by scripts/services.sh cluster-up (scripts/cluster.sh) while the node is down; edits here are lost.
cluster.name: kabar-cluster
node.name: kabar-c$n
network.host: 127.0.0.1
http.port: $(cluster_es_http "$n")
transport.port: $((9300 + n))
discovery.seed_hosts: [$seeds]
cluster.initial_master_nodes: ["kabar-c1", "kabar-c2", "kabar-c3"]
path.data: $dir/data
path.logs: $dir/logs
path.repo: ["$CLUSTER_ES_SNAPSHOTS"]
xpack.security.enabled: false
xpack.ml.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: true
YML
  printf -- '-Xms%s\n-Xmx%s\n%s\n' "$CLUSTER_ES_HEAP" "$CLUSTER_ES_HEAP" "$(cluster_es_marker "$n")" \
    >"$conf/jvm.options.d/kabar-heap.options"
  chown -R "$ES_USER:" "$dir"
  chmod 750 "$dir"
}

# Starts node $1 in the background of the caller (the launcher returns once the node has started, which for
# a node waiting for the others to form the cluster can take its 30 s initial state timeout: hence parallel).
cluster_es_launch() {
  local n=$1 jh=$2 dir
  dir=$(cluster_es_dir "$n")
  fresh_pidfile "$(cluster_es_pidfile "$n")" "$ES_USER"
  log "starting elasticsearch kabar-c$n on 127.0.0.1:$(cluster_es_http "$n") (heap $CLUSTER_ES_HEAP)"
  (cd "$dir" && ES_JAVA_HOME="$jh" ES_PATH_CONF="$dir/config" HOME="$dir" \
    as_user "$ES_USER" "$CLUSTER_ES_HOME/bin/elasticsearch" -d -p "$(cluster_es_pidfile "$n")") \
    >"$RUN_DIR/es-c$n-start.log" 2>&1 || { log "kabar-c$n failed to start:"; cat "$RUN_DIR/es-c$n-start.log" >&2; return 1; }
}

# Waits for the three-node cluster, and for nodes $2... (those just started) to answer themselves: right after
# a node is killed, the master still counts it for a few seconds.
cluster_es_wait() {
  local timeout=${1:-180} n ok
  shift || true
  for _ in $(seq 1 "$timeout"); do
    ok=1
    for n in "$@"; do cluster_es_node_up "$n" || ok=0; done
    if [ "$ok" = 1 ] && cluster_es_ok; then log "elasticsearch cluster healthy: 3 nodes on 127.0.0.1:9201-9203"; return; fi
    sleep 1
  done
  log "elasticsearch cluster did not reach 3 nodes; last health: $(cluster_es_health || echo none)"
  for n in "${CLUSTER_NODES[@]}"; do tail -n 15 "$(cluster_es_dir "$n")/logs/kabar-cluster.log" >&2 2>/dev/null || true; done
  return 1
}

# Starts the given nodes (those not already running) in parallel, then waits for the three-node cluster.
cluster_es_start() {
  local jh n p pids=() failed=0
  jh=$(java_home)
  for n in "$@"; do
    if [ -n "$(cluster_es_pid "$n")" ]; then log "elasticsearch kabar-c$n already running"; continue; fi
    cluster_es_config "$n"
    cluster_es_launch "$n" "$jh" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [ "$failed" = 0 ] || return 1
  cluster_es_wait 180 "$@"
}

cluster_es_up() {
  if cluster_es_ok; then log "elasticsearch cluster already up (3 nodes)"; return; fi
  install_cluster_es
  cluster_es_start "${CLUSTER_NODES[@]}"
}

cluster_es_stop() {
  local n
  for n in "${CLUSTER_NODES[@]}"; do
    stop_daemon "elasticsearch kabar-c$n" "$(cluster_es_pidfile "$n")" "$ES_USER" java "$(cluster_es_marker "$n")"
  done
}

# --- RabbitMQ --------------------------------------------------------------------------------------------
# Its own epmd port: the single node's (4370) is never touched, and `cluster-down` can kill this one.
CLUSTER_EPMD_PORT=4371
# One HOME for the three nodes and every CLI call, all as kabar-rabbit: one Erlang cookie (mode 400, made
# before the first node starts, so three nodes starting at once do not race to create three).
CLUSTER_RABBIT_HOME="$CLUSTER_DIR/rabbit-home"
cluster_rabbit_dir() { echo "$CLUSTER_DIR/rabbit-$1"; }
# Its config where only root writes; data and logs belong to the node's user.
cluster_rabbit_conf() { echo "$CLUSTER_DIR/rabbit-conf/c$1"; }
cluster_rabbit_node() { echo "kabar-c$1@localhost"; }
cluster_rabbit_port() { echo $((5700 + $1)); }
cluster_rabbit_pidfile() { echo "$RUN_DIR/rabbit-c$1.pid"; }
# beam.smp's command line gets the node's folder as a user flag (-kabar_node <folder>): unique per node and
# per checkout, which the node name (the same in every checkout) is not.
cluster_rabbit_marker() { cluster_rabbit_dir "$1"; }
cluster_rabbit_pid() { daemon_pid "$(cluster_rabbit_pidfile "$1")" "$RABBIT_USER" beam.smp "$(cluster_rabbit_marker "$1")"; }
cluster_epmd_up() { epmd -port "$CLUSTER_EPMD_PORT" -names >/dev/null 2>&1; }

# The environment of node $1, for the node itself and for every CLI call aimed at it.
cluster_rabbit_env() {
  local n=$1 dir
  dir=$(cluster_rabbit_dir "$n")
  export ERL_EPMD_PORT="$CLUSTER_EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_NODENAME; RABBITMQ_NODENAME=$(cluster_rabbit_node "$n")
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT; RABBITMQ_NODE_PORT=$(cluster_rabbit_port "$n")
  export RABBITMQ_DIST_PORT=$((25700 + n)) RABBITMQ_PID_FILE; RABBITMQ_PID_FILE=$(cluster_rabbit_pidfile "$n")
  export RABBITMQ_CONFIG_FILE; RABBITMQ_CONFIG_FILE="$(cluster_rabbit_conf "$n")/rabbitmq"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_ENABLED_PLUGINS=""
  # Erlang distribution on loopback, for the node and for every CLI call (a short-lived node too).
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} -kabar_node $dir"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export HOME="$CLUSTER_RABBIT_HOME"
}

# rabbitmqctl (or another CLI named by CLUSTER_RABBIT_CLI) against node $1, as kabar-rabbit. No epmd, no node:
# a CLI call would start epmd itself, so it is not made.
cluster_rabbitctl() {
  local n=$1; shift
  cluster_epmd_up || { echo "rabbitmq cluster: no epmd on port $CLUSTER_EPMD_PORT" >&2; return 69; }
  (cluster_rabbit_env "$n"; cd /; as_user "$RABBIT_USER" /usr/lib/rabbitmq/bin/rabbitmqctl -n "$(cluster_rabbit_node "$n")" "$@")
}

cluster_rabbit_prepare() {
  local n dir conf cookie
  mkdir -p "$CLUSTER_RABBIT_HOME" "$CLUSTER_DIR/rabbit-conf"
  chown root: "$CLUSTER_DIR/rabbit-conf" && chmod 755 "$CLUSTER_DIR/rabbit-conf"
  chown "$RABBIT_USER:" "$CLUSTER_RABBIT_HOME" && chmod 700 "$CLUSTER_RABBIT_HOME"
  if [ ! -s "$CLUSTER_RABBIT_HOME/.erlang.cookie" ]; then
    # 20 random capitals like Erlang's own, written by the user itself (root never writes through a link
    # in the user's folder), readable by the user only.
    cookie=$(python3 -c 'import secrets, string; print("".join(secrets.choice(string.ascii_uppercase) for _ in range(20)))')
    rm -f "$CLUSTER_RABBIT_HOME/.erlang.cookie"
    # shellcheck disable=SC2016 # $0 is the inner shell's
    printf '%s' "$cookie" | as_user "$RABBIT_USER" sh -c 'umask 277; cat >"$0"' "$CLUSTER_RABBIT_HOME/.erlang.cookie"
  fi
  for n in "${CLUSTER_NODES[@]}"; do
    dir=$(cluster_rabbit_dir "$n")
    conf=$(cluster_rabbit_conf "$n")
    mkdir -p "$conf" "$dir/mnesia" "$dir/log"
    chown root: "$conf" && chmod 755 "$conf"
    # Loopback only; guest from localhost only; the single node's generous disk limit.
    printf 'loopback_users.guest = true\nlisteners.tcp.default = 127.0.0.1:%s\ndisk_free_limit.absolute = 200MB\n' \
      "$(cluster_rabbit_port "$n")" >"$conf/rabbitmq.conf"
    chmod 644 "$conf/rabbitmq.conf"
    chown -R "$RABBIT_USER:" "$dir" && chmod 750 "$dir"
  done
}

# Starts node $1 detached (returns at once).
cluster_rabbit_launch() {
  local n=$1 dir
  dir=$(cluster_rabbit_dir "$n")
  [ -f "$dir/enabled_plugins" ] || echo '[].' | as_user "$RABBIT_USER" tee "$dir/enabled_plugins" >/dev/null
  fresh_pidfile "$(cluster_rabbit_pidfile "$n")" "$RABBIT_USER"
  log "starting rabbitmq $(cluster_rabbit_node "$n") on 127.0.0.1:$(cluster_rabbit_port "$n")"
  (cluster_rabbit_env "$n"; cd "$dir" || exit; as_user "$RABBIT_USER" /usr/lib/rabbitmq/bin/rabbitmq-server -detached) \
    >"$RUN_DIR/rabbit-c$n-start.log" 2>&1
}

# Waits until node $1 runs RabbitMQ (its pid file first: `wait` calls an empty one garbage).
cluster_rabbit_wait() {
  local n=$1 pidfile
  pidfile=$(cluster_rabbit_pidfile "$n")
  for _ in $(seq 1 120); do cluster_epmd_up && [ -s "$pidfile" ] && break; sleep 0.5; done
  # A node that was not the last of the cluster to stop waits for the others' tables (they start in parallel).
  cluster_rabbitctl "$n" wait --timeout 180 "$pidfile" >/dev/null \
    || { log "rabbitmq $(cluster_rabbit_node "$n") did not start:"; tail -n 20 "$(cluster_rabbit_dir "$n")/log/"*.log >&2 2>/dev/null; return 1; }
}

# The nodes of the cluster as node $1 sees them, one a line: $2 is running_nodes (default) or disk_nodes.
cluster_rabbit_nodes() {
  local json
  json=$(cluster_rabbitctl "$1" cluster_status --formatter json 2>/dev/null) || return 1
  python3 -c 'import json, sys; print("\n".join(json.loads(sys.argv[1]).get(sys.argv[2], [])))' \
    "$json" "${2:-running_nodes}"
}
cluster_rabbit_running() { cluster_rabbit_nodes "$1" running_nodes; }
cluster_rabbit_members() { cluster_rabbit_nodes "$1" disk_nodes; }

# Node $1 (2 or 3) joins kabar-c1 unless it is a member already (join_cluster resets the node first).
cluster_rabbit_join() {
  local n=$1 first members
  first=$(cluster_rabbit_node 1)
  # Never a pipe into grep -q here: with pipefail, the writer's broken pipe would read as "not a member", and
  # join_cluster would reset a node that is one.
  members=$(cluster_rabbit_members "$n") || { log "cannot read the cluster status of $(cluster_rabbit_node "$n")"; return 1; }
  if grep -qx "$first" <<<"$members"; then return; fi
  log "rabbitmq $(cluster_rabbit_node "$n") joins $first"
  cluster_rabbitctl "$n" stop_app >/dev/null
  cluster_rabbitctl "$n" join_cluster "$first" >/dev/null
  cluster_rabbitctl "$n" start_app >/dev/null
}

cluster_rabbit_wait_running() {
  local count n
  for _ in $(seq 1 60); do
    for n in "${CLUSTER_NODES[@]}"; do
      count=$(cluster_rabbit_running "$n" | grep -c . || true)
      if [ "$count" = 3 ]; then log "rabbitmq cluster healthy: 3 running nodes on 127.0.0.1:5701-5703"; return; fi
    done
    sleep 1
  done
  log "rabbitmq cluster does not show 3 running nodes"; return 1
}

# Starts the given nodes (those not running) in parallel, waits for each, then clusters 2 and 3 with 1.
cluster_rabbit_start() {
  local n started=()
  cluster_rabbit_prepare
  for n in "$@"; do
    if [ -n "$(cluster_rabbit_pid "$n")" ]; then continue; fi
    cluster_rabbit_launch "$n"
    started+=("$n")
  done
  for n in "${started[@]}"; do cluster_rabbit_wait "$n"; done
  for n in "$@"; do [ "$n" = 1 ] || cluster_rabbit_join "$n"; done
  cluster_rabbit_wait_running
}

cluster_rabbit_up() {
  local n all=1
  for n in "${CLUSTER_NODES[@]}"; do [ -n "$(cluster_rabbit_pid "$n")" ] || all=0; done
  if [ "$all" = 1 ] && [ "$(cluster_rabbit_running 1 | grep -c . || true)" = 3 ]; then
    log "rabbitmq cluster already up (3 running nodes)"; return
  fi
  cluster_rabbit_start "${CLUSTER_NODES[@]}"
}

# `rabbitmqctl stop` (a clean shutdown, the cluster told) for each node found; then the checked signals.
cluster_rabbit_stop() {
  local n
  for n in 3 2 1; do
    if [ -n "$(cluster_rabbit_pid "$n")" ]; then
      log "stopping rabbitmq $(cluster_rabbit_node "$n")"
      cluster_rabbitctl "$n" stop "$(cluster_rabbit_pidfile "$n")" >/dev/null 2>&1 || true
    fi
    stop_daemon "rabbitmq $(cluster_rabbit_node "$n")" "$(cluster_rabbit_pidfile "$n")" "$RABBIT_USER" beam.smp \
      "$(cluster_rabbit_marker "$n")"
  done
  # epmd refuses -kill while any node is still registered with it: another checkout's nodes survive this.
  epmd -port "$CLUSTER_EPMD_PORT" -kill >/dev/null 2>&1 || true
}

# --- Redis -----------------------------------------------------------------------------------------------
CLUSTER_REDIS_PORTS=(6391 6392)
CLUSTER_SENTINEL_PORTS=(26391 26392 26393)
CLUSTER_REDIS_MASTER_NAME=kabar-cluster
# Servers' config where only root writes (written on every start with the role the start gives them).
CLUSTER_REDIS_CONF="$CLUSTER_DIR/redis-conf"
cluster_redis_dir() { echo "$CLUSTER_DIR/redis-$1"; }
cluster_redis_pidfile() { echo "$RUN_DIR/redis-$1.pid"; }
# Redis rewrites its process title; the template keeps the config file's path in it: the marker, unique per
# port and per checkout (the single node's marker is its address, 127.0.0.1:6379).
CLUSTER_REDIS_TITLE='{title} {listen-addr} {server-mode} {config-file}'
cluster_redis_marker() { echo "$CLUSTER_REDIS_CONF/redis-$1.conf"; }
cluster_redis_pid() { daemon_pid "$(cluster_redis_pidfile "$1")" "$REDIS_USER" redis-server "$(cluster_redis_marker "$1")"; }
# Sentinels rewrite their own config file (the monitored master, the other sentinels, the replicas): it lives
# in the sentinel's folder, owned by kabar-redis.
cluster_sentinel_dir() { echo "$CLUSTER_DIR/sentinel-$1"; }
cluster_sentinel_pidfile() { echo "$RUN_DIR/sentinel-$1.pid"; }
cluster_sentinel_marker() { echo "$(cluster_sentinel_dir "$1")/sentinel.conf"; }
cluster_sentinel_pid() { daemon_pid "$(cluster_sentinel_pidfile "$1")" "$REDIS_USER" redis-server "$(cluster_sentinel_marker "$1")"; }

cluster_redis_cli() { local port=$1; shift; redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null; }
cluster_redis_ping() { [ "$(cluster_redis_cli "$1" ping)" = PONG ]; }
cluster_redis_info() { cluster_redis_cli "$1" info replication | tr -d '\r'; }
cluster_redis_field() { cluster_redis_info "$1" | sed -n "s/^$2://p"; }

# The current primary's port as sentinel $1 (default: the first that answers) sees it.
cluster_sentinel_master() {
  local ports=("${CLUSTER_SENTINEL_PORTS[@]}") port out
  [ $# -eq 0 ] || ports=("$1")
  for port in "${ports[@]}"; do
    out=$(cluster_redis_cli "$port" sentinel get-master-addr-by-name "$CLUSTER_REDIS_MASTER_NAME" | tr -d '\r')
    if [[ "$out" =~ ^127\.0\.0\.1$'\n'([0-9]+)$ ]]; then echo "${BASH_REMATCH[1]}"; return; fi
  done
  return 1
}
# A field of `SENTINEL MASTER kabar-cluster` (name and value on alternate lines) from sentinel $1.
cluster_sentinel_field() {
  cluster_redis_cli "$1" sentinel master "$CLUSTER_REDIS_MASTER_NAME" | tr -d '\r' | awk -v k="$2" 'p {print; exit} $0 == k {p=1}'
}

# Who is primary now: the sentinels' word; without sentinels, a running server that says it is a master;
# with nothing running, 6391 (the layout `cluster-env` prints).
cluster_redis_current_master() {
  local port
  cluster_sentinel_master && return
  for port in "${CLUSTER_REDIS_PORTS[@]}"; do
    if [ "$(cluster_redis_field "$port" role)" = master ]; then echo "$port"; return; fi
  done
  echo 6391
}

# Starts the server on $1 (if down): the primary when $1 is $2, else a replica of 127.0.0.1:$2.
cluster_redis_launch() {
  local port=$1 master=$2 dir conf
  if cluster_redis_ping "$port"; then return; fi
  dir=$(cluster_redis_dir "$port")
  conf=$(cluster_redis_marker "$port")
  mkdir -p "$dir" "$CLUSTER_REDIS_CONF" "$RUN_DIR"
  chown -R "$REDIS_USER:" "$dir" && chmod 750 "$dir"
  chown root: "$CLUSTER_REDIS_CONF" && chmod 755 "$CLUSTER_REDIS_CONF"
  {
    echo "# Written by scripts/services.sh (scripts/cluster.sh) on every start; edits here are lost."
    echo "bind 127.0.0.1"
    echo "port $port"
    echo "daemonize yes"
    echo "pidfile $(cluster_redis_pidfile "$port")"
    echo "dir $dir"
    echo "logfile $dir/redis.log"
    echo "proc-title-template \"$CLUSTER_REDIS_TITLE\""
    # Durable like the single node: ingest state must survive a restart (and a failover).
    echo "appendonly yes"
    echo "appendfsync everysec"
    # The address the primary (and through it the sentinels) reports for this server as a replica.
    echo "replica-announce-ip 127.0.0.1"
    if [ "$port" != "$master" ]; then echo "replicaof 127.0.0.1 $master"; fi
  } >"$conf"
  chmod 644 "$conf"
  fresh_pidfile "$(cluster_redis_pidfile "$port")" "$REDIS_USER"
  if [ "$port" = "$master" ]; then log "starting redis 127.0.0.1:$port (primary)"; else log "starting redis 127.0.0.1:$port (replica of $master)"; fi
  (cd "$dir" && as_user "$REDIS_USER" redis-server "$conf") >/dev/null
  for _ in $(seq 1 50); do cluster_redis_ping "$port" && return; sleep 0.2; done
  log "redis 127.0.0.1:$port did not start"; tail -n 20 "$dir/redis.log" >&2 || true; return 1
}

# Starts sentinel $1 (if down) monitoring the primary on $2. Its file is written afresh, as kabar-redis: the
# running sentinels (or the primary's pub/sub) tell it the rest.
cluster_sentinel_launch() {
  local port=$1 master=$2 dir conf
  if cluster_redis_ping "$port"; then return; fi
  dir=$(cluster_sentinel_dir "$port")
  conf="$dir/sentinel.conf"
  mkdir -p "$dir" "$RUN_DIR"
  chown -R "$REDIS_USER:" "$dir" && chmod 750 "$dir"
  rm -f "$conf"
  as_user "$REDIS_USER" tee "$conf" >/dev/null <<CONF
# Written by scripts/services.sh (scripts/cluster.sh) at each start; the sentinel rewrites it as it runs.
bind 127.0.0.1
port $port
daemonize yes
pidfile $(cluster_sentinel_pidfile "$port")
dir $dir
logfile $dir/sentinel.log
proc-title-template "$CLUSTER_REDIS_TITLE"
# Announce and resolve loopback addresses only (never the machine's other addresses).
sentinel announce-ip 127.0.0.1
sentinel resolve-hostnames no
sentinel announce-hostnames no
sentinel monitor $CLUSTER_REDIS_MASTER_NAME 127.0.0.1 $master 2
sentinel down-after-milliseconds $CLUSTER_REDIS_MASTER_NAME 2000
sentinel failover-timeout $CLUSTER_REDIS_MASTER_NAME 10000
sentinel parallel-syncs $CLUSTER_REDIS_MASTER_NAME 1
CONF
  fresh_pidfile "$(cluster_sentinel_pidfile "$port")" "$REDIS_USER"
  log "starting redis sentinel 127.0.0.1:$port (primary 127.0.0.1:$master)"
  (cd "$dir" && as_user "$REDIS_USER" redis-server "$conf" --sentinel) >/dev/null
  for _ in $(seq 1 50); do cluster_redis_ping "$port" && return; sleep 0.2; done
  log "sentinel 127.0.0.1:$port did not start"; tail -n 20 "$dir/sentinel.log" >&2 || true; return 1
}

# Healthy: every sentinel names the same primary and knows the other two sentinels and the replica (so a
# failover can be voted at once), and the replica's link to the primary is up.
cluster_redis_ok() {
  local master port replica
  master=$(cluster_sentinel_master) || return 1
  for port in "${CLUSTER_SENTINEL_PORTS[@]}"; do
    [ "$(cluster_sentinel_master "$port")" = "$master" ] || return 1
    [ "$(cluster_sentinel_field "$port" num-other-sentinels)" = 2 ] || return 1
    [ "$(cluster_sentinel_field "$port" num-slaves)" -ge 1 ] 2>/dev/null || return 1
  done
  for replica in "${CLUSTER_REDIS_PORTS[@]}"; do
    [ "$replica" != "$master" ] || continue
    [ "$(cluster_redis_field "$replica" master_link_status)" = up ] || return 1
    [ "$(cluster_redis_field "$replica" master_port)" = "$master" ] || return 1
  done
}

cluster_redis_up() {
  local master port
  if cluster_redis_ok; then log "redis cluster already up (primary 127.0.0.1:$(cluster_sentinel_master))"; return; fi
  master=$(cluster_redis_current_master)
  cluster_redis_launch "$master" "$master"
  for port in "${CLUSTER_REDIS_PORTS[@]}"; do cluster_redis_launch "$port" "$master"; done
  for port in "${CLUSTER_SENTINEL_PORTS[@]}"; do cluster_sentinel_launch "$port" "$master"; done
  for _ in $(seq 1 120); do
    if cluster_redis_ok; then log "redis cluster healthy: primary 127.0.0.1:$(cluster_sentinel_master), 3 sentinels"; return; fi
    sleep 0.5
  done
  log "redis cluster not healthy: sentinels do not agree, or the replica is not linked"
  for port in "${CLUSTER_SENTINEL_PORTS[@]}"; do tail -n 10 "$(cluster_sentinel_dir "$port")/sentinel.log" >&2 || true; done
  return 1
}

cluster_redis_stop() {
  local port
  # Sentinels first: none of them fails over a primary being shut down on purpose.
  for port in "${CLUSTER_SENTINEL_PORTS[@]}"; do
    stop_daemon "redis sentinel :$port" "$(cluster_sentinel_pidfile "$port")" "$REDIS_USER" redis-server "$(cluster_sentinel_marker "$port")"
  done
  for port in "${CLUSTER_REDIS_PORTS[@]}"; do
    stop_daemon "redis :$port" "$(cluster_redis_pidfile "$port")" "$REDIS_USER" redis-server "$(cluster_redis_marker "$port")"
  done
}

cluster_redis_port_arg() {
  case "${1:-}" in 6391 | 6392) ;; *) log "expected a cluster Redis port, 6391 or 6392 (got '${1:-}')"; return 2 ;; esac
}

# kill -9 (as kabar-redis, after the pid check): a crash, for sentinel to notice and fail over.
cluster_redis_kill() {
  local port=$1 pid
  cluster_redis_port_arg "$port"
  pid=$(cluster_redis_pid "$port")
  [ -n "$pid" ] || { log "redis 127.0.0.1:$port is not running"; return 0; }
  log "killing redis 127.0.0.1:$port (pid $pid, SIGKILL)"
  as_user "$REDIS_USER" kill -9 "$pid"
  for _ in $(seq 1 50); do pid_is "$pid" "$REDIS_USER" redis-server "$(cluster_redis_marker "$port")" || break; sleep 0.1; done
  rm -f "$(cluster_redis_pidfile "$port")"
}

# Back after a crash: the primary if sentinel still names it, else a replica of the one sentinel names (the
# sentinels would reconfigure it anyway; starting it that way never lets two primaries take writes).
cluster_redis_restart() {
  local port=$1 master
  cluster_redis_port_arg "$port"
  master=$(cluster_redis_current_master)
  cluster_redis_launch "$port" "$master"
  [ "$port" != "$master" ] || return 0
  for _ in $(seq 1 150); do
    [ "$(cluster_redis_field "$port" master_link_status)" = up ] && { log "redis 127.0.0.1:$port replicates 127.0.0.1:$master"; return; }
    sleep 0.2
  done
  log "redis 127.0.0.1:$port has no link to 127.0.0.1:$master yet"; return 1
}

# --- Fault injection: Elasticsearch and RabbitMQ -----------------------------------------------------------
cluster_node_arg() {
  case "${1:-}" in 1 | 2 | 3) ;; *) log "expected a cluster node number, 1, 2 or 3 (got '${1:-}')"; return 2 ;; esac
}

cluster_es_kill() {
  local n=$1 pid
  cluster_node_arg "$n"
  pid=$(cluster_es_pid "$n")
  [ -n "$pid" ] || { log "elasticsearch kabar-c$n is not running"; return 0; }
  log "killing elasticsearch kabar-c$n (pid $pid, SIGKILL)"
  as_user "$ES_USER" kill -9 "$pid"
  for _ in $(seq 1 50); do pid_is "$pid" "$ES_USER" java "$(cluster_es_marker "$n")" || break; sleep 0.1; done
  rm -f "$(cluster_es_pidfile "$n")"
}

cluster_rabbit_kill() {
  local n=$1 pid
  cluster_node_arg "$n"
  pid=$(cluster_rabbit_pid "$n")
  [ -n "$pid" ] || { log "rabbitmq $(cluster_rabbit_node "$n") is not running"; return 0; }
  log "killing rabbitmq $(cluster_rabbit_node "$n") (beam.smp pid $pid, SIGKILL)"
  as_user "$RABBIT_USER" kill -9 "$pid"
  for _ in $(seq 1 50); do pid_is "$pid" "$RABBIT_USER" beam.smp "$(cluster_rabbit_marker "$n")" || break; sleep 0.1; done
  rm -f "$(cluster_rabbit_pidfile "$n")"
}

# --- Commands --------------------------------------------------------------------------------------------
cluster_up() {
  local t0=$SECONDS
  install_packages; install_elasticsearch; install_users
  cluster_redis_up
  cluster_rabbit_up
  cluster_es_up
  log "cluster up in $((SECONDS - t0)) s"
  cluster_env
}

cluster_down() {
  cluster_redis_stop
  cluster_rabbit_stop
  cluster_es_stop
}

cluster_env() {
  cat <<ENV
KABAR_ES_URL=http://127.0.0.1:9201,http://127.0.0.1:9202,http://127.0.0.1:9203
KABAR_BROKER_URL=amqp://guest:guest@127.0.0.1:5701//;amqp://guest:guest@127.0.0.1:5702//;amqp://guest:guest@127.0.0.1:5703//
KABAR_REDIS_URL=redis://127.0.0.1:6391/0
KABAR_REDIS_SENTINELS=127.0.0.1:26391,127.0.0.1:26392,127.0.0.1:26393
KABAR_REDIS_SENTINEL_MASTER=kabar-cluster
KABAR_ES_REPLICAS=1
KABAR_REDIS_WAIT_REPLICAS=1
ENV
}

cluster_status() {
  local n port pid running="" master
  for n in "${CLUSTER_NODES[@]}"; do
    if cluster_es_node_up "$n"; then echo "elasticsearch kabar-c$n 127.0.0.1:$(cluster_es_http "$n"): up"
    else echo "elasticsearch kabar-c$n 127.0.0.1:$(cluster_es_http "$n"): down"; fi
  done
  for n in "${CLUSTER_NODES[@]}"; do
    [ -n "$running" ] || [ -z "$(cluster_rabbit_pid "$n")" ] || running=$(cluster_rabbit_running "$n" || true)
  done
  for n in "${CLUSTER_NODES[@]}"; do
    pid=$(cluster_rabbit_pid "$n")
    if [ -z "$pid" ]; then echo "rabbitmq $(cluster_rabbit_node "$n") 127.0.0.1:$(cluster_rabbit_port "$n"): down"
    elif grep -qx "$(cluster_rabbit_node "$n")" <<<"$running"; then echo "rabbitmq $(cluster_rabbit_node "$n") 127.0.0.1:$(cluster_rabbit_port "$n"): up (running in the cluster)"
    else echo "rabbitmq $(cluster_rabbit_node "$n") 127.0.0.1:$(cluster_rabbit_port "$n"): up (not running in the cluster)"; fi
  done
  master=$(cluster_sentinel_master || true)
  for port in "${CLUSTER_REDIS_PORTS[@]}"; do
    if ! cluster_redis_ping "$port"; then echo "redis 127.0.0.1:$port: down"
    elif [ "$port" = "$master" ]; then echo "redis 127.0.0.1:$port: up (primary)"
    elif [ "$(cluster_redis_field "$port" role)" = master ]; then echo "redis 127.0.0.1:$port: up (a master, not the sentinels' primary: being demoted)"
    else echo "redis 127.0.0.1:$port: up (replica of $(cluster_redis_field "$port" master_port), link $(cluster_redis_field "$port" master_link_status))"; fi
  done
  for port in "${CLUSTER_SENTINEL_PORTS[@]}"; do
    if cluster_redis_ping "$port"; then echo "sentinel 127.0.0.1:$port: up (primary 127.0.0.1:$(cluster_sentinel_master "$port" || echo '?'))"
    else echo "sentinel 127.0.0.1:$port: down"; fi
  done
}

# Dispatches `services.sh cluster-*`.
cluster_command() {
  case "$1" in
    cluster-up) cluster_up ;;
    cluster-down) cluster_down ;;
    cluster-status) cluster_status ;;
    cluster-env) cluster_env ;;
    cluster-kill-es) cluster_es_kill "${2:-}" ;;
    cluster-start-es) cluster_node_arg "${2:-}"; install_cluster_es; cluster_es_start "$2" ;;
    cluster-kill-rabbit) cluster_rabbit_kill "${2:-}" ;;
    cluster-start-rabbit) cluster_node_arg "${2:-}"; cluster_rabbit_start "$2" ;;
    cluster-stop-redis) cluster_redis_kill "${2:-}" ;;
    cluster-start-redis) cluster_redis_restart "${2:-}" ;;
    cluster-redis-primary) cluster_sentinel_master ;;
    *)
      echo "usage: services.sh cluster-up|cluster-down|cluster-status|cluster-env|cluster-kill-es N|cluster-start-es N|cluster-kill-rabbit N|cluster-start-rabbit N|cluster-stop-redis PORT|cluster-start-redis PORT|cluster-redis-primary" >&2
      return 2
      ;;
  esac
}
