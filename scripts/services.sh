#!/usr/bin/env bash
# Installs and runs Kabar's backing services on loopback without Docker:
#   Elasticsearch (Elastic's integ-test distribution from Maven Central), RabbitMQ, Redis and PostgreSQL 15
#   (Debian), and the edge cache in front of publish: Varnish 7.1 with varnish-modules (Debian;
#   deploy/varnish/kabar.vcl), and for the WordPress bridge's tests a real WordPress (Debian's, served by PHP's
#   built-in server) on MariaDB (Debian's).
# Usage: scripts/services.sh install|up|down|status  (KABAR_EDGE=off: `up` starts no edge; KABAR_POSTGRES=off:
# no PostgreSQL; KABAR_WORDPRESS=off: neither MariaDB nor WordPress)
# The local cluster for tests and benches (3 Elasticsearch nodes, 3 RabbitMQ nodes, Redis primary + replica
# + 3 Sentinels, on their own ports beside this single-node stack): scripts/cluster.sh, `cluster-up`,
# `cluster-down`, `cluster-status`, `cluster-env` and the fault-injection commands; `down` stops it too.
# Every command is idempotent. `down` stops only what `up` started, through pid files and node names.
# Least privilege: every daemon listens on loopback only (epmd and Erlang distribution included) and runs as
# its own unprivileged user (kabar-es, kabar-redis, kabar-rabbit, kabar-pg, kabar-varnish, kabar-mariadb,
# kabar-wp). Those users can write their pid files, so no pid is signalled before it is checked against the
# process (owner and command line), and signals are sent as that user, never as root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="${KABAR_LOCAL_DIR:-$ROOT/.local}"
# The Elasticsearch version lives in one place, deploy/elasticsearch/Dockerfile (compose builds the same).
ES_VERSION="${KABAR_ES_VERSION:-$(sed -n 's/^ARG ES_VERSION=//p' "$ROOT/deploy/elasticsearch/Dockerfile")}"
[ -n "$ES_VERSION" ] || { echo "[services] no ES_VERSION in deploy/elasticsearch/Dockerfile" >&2; exit 1; }
ES_PORT="${KABAR_ES_PORT:-9200}"
ES_HEAP="${KABAR_ES_HEAP:-1g}"
# Pinned, never the first free port of 9300-9399 (Elasticsearch's default): the local cluster's nodes use
# 9301-9303, and a second single node (the fault tests' private stack) once took 9301 first.
ES_TRANSPORT_PORT="${KABAR_ES_TRANSPORT_PORT:-$((ES_PORT + 100))}"
ES_USER="kabar-es"
REDIS_USER="kabar-redis"
RABBIT_USER="kabar-rabbit"
# The daemons run as unprivileged users, who must be able to reach their folders. Under .local when
# every parent folder of the checkout is traversable by others; otherwise (a checkout under /root, say)
# under /var/lib/kabar-es/<checkout hash>, each folder owned by its daemon's user and still per checkout.
es_base() {
  local dir="$ROOT"
  while [ "$dir" != "/" ]; do
    [ "$(stat -c %A "$dir" | cut -c10)" = "x" ] || { echo "/var/lib/kabar-es/$(printf %s "$LOCAL" | md5sum | cut -c1-10)"; return; }
    dir=$(dirname "$dir")
  done
  echo "$LOCAL"
}
ES_BASE="$(es_base)"
ES_HOME="$ES_BASE/elasticsearch-$ES_VERSION"
ES_DATA="$ES_BASE/es-data"
ES_LOGS="$ES_BASE/es-logs"
ES_SNAPSHOTS="$ES_BASE/es-snapshots"
# Pid files live in a folder only root writes; each file belongs to its daemon's user (who writes it).
RUN_DIR="$ES_BASE/run"
ES_PID="$RUN_DIR/elasticsearch.pid"
RABBIT_PORT="${KABAR_RABBIT_PORT:-5672}"
RABBIT_DIST_PORT="${KABAR_RABBIT_DIST_PORT:-25672}"
RABBIT_NODE="${KABAR_RABBIT_NODE:-kabar@localhost}"
RABBIT_DIR="$ES_BASE/rabbitmq"
# RabbitMQ's config lives where only root writes (its data folder belongs to its user).
RABBIT_CONF_DIR="$ES_BASE/rabbitmq-conf"
RABBIT_PID="$RUN_DIR/rabbitmq.pid"
# A private epmd port, so stopping it never touches another Erlang node's epmd; loopback only (epmd adds
# ::1 itself where IPv6 is on). Exported: whoever starts epmd first (the node or a CLI call) passes both.
export ERL_EPMD_PORT="${KABAR_EPMD_PORT:-4370}"
export ERL_EPMD_ADDRESS=127.0.0.1
REDIS_PORT="${KABAR_REDIS_PORT:-6379}"
REDIS_DIR="$ES_BASE/redis"
REDIS_PID="$RUN_DIR/redis.pid"
# The edge: readers on 127.0.0.1:$EDGE_PORT, publish (and the newsroom API under /v1/) behind it.
EDGE_PORT="${KABAR_EDGE_PORT:-6081}"
EDGE_ADMIN_PORT="${KABAR_EDGE_ADMIN_PORT:-6082}"
EDGE_PUBLISH_PORT="${KABAR_DEMO_PUBLISH_PORT:-8002}"
EDGE_INGEST_PORT="${KABAR_DEMO_INGEST_PORT:-8001}"
EDGE_MEMORY="${KABAR_EDGE_MEMORY:-256m}"
EDGE_USER="kabar-varnish"
# Config where only root writes (read by the VCL compiler as the edge's user); the working folder is the user's.
EDGE_CONF="$ES_BASE/varnish-conf"
EDGE_WORK="$ES_BASE/varnish"
EDGE_PID="$RUN_DIR/varnish.pid"
# PostgreSQL 15 (Debian's): data, socket and log under $PG_DIR, owned by its user; its configuration (listen
# address, authentication) where only root writes. Kabar connects as `kabar` over TCP with a password; the
# superuser is the daemon's own user, reachable only through the socket (peer authentication).
PG_BIN=/usr/lib/postgresql/15/bin
PG_PORT="${KABAR_PG_PORT:-5432}"
PG_USER="kabar-pg"
PG_DIR="$ES_BASE/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
PG_CONF="$ES_BASE/postgres-conf"
PG_PID="$RUN_DIR/postgres.pid"
PG_ROLE=kabar
PG_PASSWORD=kabar
PG_DB=kabar
# MariaDB 10.11 (Debian's) for WordPress: data, socket and log under $MARIADB_DIR, owned by its user; its
# configuration where only root writes. WordPress connects as `wordpress` over TCP with a password; the
# superuser is the daemon's own user, reachable only through the socket (unix_socket authentication).
MARIADB_PORT="${KABAR_MARIADB_PORT:-3307}"
MARIADB_USER="kabar-mariadb"
MARIADB_DIR="$ES_BASE/mariadb"
MARIADB_DATA="$MARIADB_DIR/data"
MARIADB_SOCKET="$MARIADB_DIR/mariadb.sock"
MARIADB_CONF="$ES_BASE/mariadb-conf/my.cnf"
MARIADB_PID="$RUN_DIR/mariadb.pid"
WP_DB=wordpress
WP_DB_USER=wordpress
WP_DB_PASSWORD=wordpress
# WordPress (Debian's package, copied per package version into $WP_DIR/site so nothing system-wide changes),
# served by PHP's built-in server as kabar-wp. Code and wp-config.php belong to root; only uploads are
# kabar-wp's. The admin's Application Password (and its login password) are files only root reads, under
# $LOCAL/wordpress whatever $ES_BASE is: tests read them there.
WP_PORT="${KABAR_WORDPRESS_PORT:-8090}"
WP_URL="http://127.0.0.1:$WP_PORT"
WP_USER="kabar-wp"
WP_DIR="$ES_BASE/wordpress"
WP_SITE="$WP_DIR/site"
WP_PID="$RUN_DIR/wordpress.pid"
WP_ADMIN="admin"
WP_SECRETS="$LOCAL/wordpress"
# Concurrent requests (a pull's parallel pages, WP-Cron's loopback call) need more than one worker.
WP_WORKERS="${KABAR_WORDPRESS_WORKERS:-4}"

log() { printf '[services] %s\n' "$*" >&2; }

java_home() {
  # Elasticsearch 9 needs Java 21+; take the newest JDK under /usr/lib/jvm that qualifies.
  local best="" best_v=0 d v
  for d in /usr/lib/jvm/*/; do
    [ -x "$d/bin/java" ] || continue
    v=$("$d/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/{print $2}')
    v=${v%%.*}
    if [ -n "$v" ] && [ "$v" -ge 21 ] && [ "$v" -gt "$best_v" ]; then best="${d%/}"; best_v=$v; fi
  done
  [ -n "$best" ] || { log "no JDK 21+ under /usr/lib/jvm (Elasticsearch $ES_VERSION needs one)"; return 1; }
  echo "$best"
}

install_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
  [ -f /usr/share/hunspell/id_ID.dic ] || missing+=(hunspell-id)
  command -v unzip >/dev/null || missing+=(unzip)
  command -v mvn >/dev/null || missing+=(maven)
  command -v varnishd >/dev/null || missing+=(varnish)
  ls /usr/lib/*/varnish/vmods/libvmod_xkey.so >/dev/null 2>&1 || missing+=(varnish-modules)
  [ -x "$PG_BIN/postgres" ] || missing+=(postgresql)
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    no_main_cluster
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian's postinst starts system-wide daemons; Kabar runs its own under .local instead.
    pkill -u rabbitmq -f beam.smp 2>/dev/null || true
    if [ -f /var/run/redis/redis-server.pid ]; then kill "$(cat /var/run/redis/redis-server.pid)" 2>/dev/null || true; fi
    if [ -f /run/varnishd.pid ]; then kill "$(cat /run/varnishd.pid)" 2>/dev/null || true; fi
    stop_system_clusters
  fi
}

# Debian's postgresql postinst creates and starts a system-wide "main" cluster on 5432 unless
# createcluster.conf says otherwise (read by pg_conftool; ucf keeps an existing file on install).
no_main_cluster() {
  local conf=/etc/postgresql-common/createcluster.conf
  mkdir -p "${conf%/*}"
  if grep -qE '^[#[:space:]]*create_main_cluster[[:space:]]*=' "$conf" 2>/dev/null; then
    sed -i -E 's/^[#[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' "$conf"
  else
    echo 'create_main_cluster = false' >>"$conf"
  fi
}

# A system cluster that exists anyway (installed before, or by hand) is stopped, never dropped.
stop_system_clusters() {
  command -v pg_lsclusters >/dev/null || return 0
  pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1, $2}' | while read -r version cluster; do
    pg_ctlcluster "$version" "$cluster" stop 2>/dev/null || true
  done
}

# Creates an unprivileged system user (and its group) for one daemon.
ensure_user() {
  id "$1" >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$1"
}

# Runs a command as an unprivileged user, keeping the caller's environment (setpriv, unlike su, does not
# reset it) and dropping every capability.
as_user() {
  local user=$1; shift
  setpriv --reuid="$user" --regid="$user" --init-groups --inh-caps=-all -- "$@"
}

install_elasticsearch() {
  ensure_user "$ES_USER"
  if [ ! -x "$ES_HOME/bin/elasticsearch" ]; then
    log "fetching elasticsearch $ES_VERSION from Maven Central"
    mkdir -p "$LOCAL/dist"
    mvn -q -B dependency:copy \
      -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
      -DoutputDirectory="$LOCAL/dist" >/dev/null
    rm -rf "$ES_HOME.tmp" && mkdir -p "$ES_HOME.tmp"
    unzip -q "$LOCAL/dist/elasticsearch-$ES_VERSION.zip" -d "$ES_HOME.tmp"
    mv "$ES_HOME.tmp/elasticsearch-$ES_VERSION" "$ES_HOME" && rm -rf "$ES_HOME.tmp"
  fi
  mkdir -p "$ES_HOME/config/hunspell/id_ID" "$ES_DATA" "$ES_LOGS" "$RUN_DIR" "$ES_SNAPSHOTS"
  cp /usr/share/hunspell/id_ID.aff /usr/share/hunspell/id_ID.dic "$ES_HOME/config/hunspell/id_ID/"
  # destructive_requires_name: deleting indices needs their names (no wildcards, no _all).
  cat >"$ES_HOME/config/elasticsearch.yml" <<YML
cluster.name: kabar-local
node.name: kabar-1
discovery.type: single-node
network.host: 127.0.0.1
http.port: $ES_PORT
transport.port: $ES_TRANSPORT_PORT
path.data: $ES_DATA
path.logs: $ES_LOGS
path.repo: ["$ES_SNAPSHOTS"]
xpack.security.enabled: false
xpack.ml.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: true
YML
  mkdir -p "$ES_HOME/config/jvm.options.d"
  printf -- '-Xms%s\n-Xmx%s\n' "$ES_HEAP" "$ES_HEAP" >"$ES_HOME/config/jvm.options.d/kabar-heap.options"
  # Elasticsearch refuses to run as root, so its folders belong to its own unprivileged user.
  chown -R "$ES_USER:" "$ES_HOME" "$ES_DATA" "$ES_LOGS" "$ES_SNAPSHOTS"
  chown root: "$RUN_DIR"
  chmod 755 "$LOCAL" "$RUN_DIR"
  [ "$ES_BASE" = "$LOCAL" ] || chmod 755 "$ES_BASE"
  chmod o+rx "$ROOT" 2>/dev/null || true
}

install_users() {
  ensure_user "$REDIS_USER"
  ensure_user "$RABBIT_USER"
  ensure_user "$EDGE_USER"
  ensure_user "$PG_USER"
  ensure_user "$MARIADB_USER"
  ensure_user "$WP_USER"
}

# A pid file its daemon's user may have written: an empty, fresh one owned by that user, in RUN_DIR.
fresh_pidfile() {
  local file=$1 user=$2
  rm -f "$file"
  install -m 644 -o "$user" -g "$user" /dev/null "$file"
}

# True when process $1 runs as user $2, is named $3 (/proc/<pid>/comm) and has $4 among its command-line
# words: the only processes `down` will signal. A pid file can name anything; the process cannot lie
# about its owner, and another user's process never matches.
pid_is() {
  local pid=$1 user=$2 comm=$3 marker=$4 uid words
  [[ "$pid" =~ ^[1-9][0-9]{0,9}$ ]] && [ -r "/proc/$pid/status" ] || return 1
  uid=$(id -u "$user" 2>/dev/null) || return 1
  # Real and effective uid, both the daemon user's.
  [ "$(awk '/^Uid:/ {print $2 " " $3}' "/proc/$pid/status" 2>/dev/null)" = "$uid $uid" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
  words=" $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) "
  [[ "$words" == *" $marker "* ]]
}

# The daemon's pid: the one in its pid file when that process checks out, else the process found by
# owner, name and command line (a stale or forged pid file is refused and reported, never signalled).
daemon_pid() {
  local file=$1 user=$2 comm=$3 marker=$4 pid="" p
  if [ -f "$file" ] && [ ! -L "$file" ]; then
    pid=$(head -c 32 "$file" | tr -dc '0-9')
    if [ -n "$pid" ] && ! pid_is "$pid" "$user" "$comm" "$marker"; then
      log "refusing pid file $file: pid $pid is not $comm of $user with '$marker'"
      pid=""
    fi
  fi
  if [ -z "$pid" ]; then
    for p in $(pgrep -u "$user" -x "$comm" 2>/dev/null || true); do
      if pid_is "$p" "$user" "$comm" "$marker"; then pid=$p; break; fi
    done
  fi
  echo "$pid"
}

# Stops a daemon with signals sent as its own user (so even a pid reused in between can only be one of
# that user's processes): TERM (or the signal given as $6), up to 30 s, then KILL.
stop_daemon() {
  local name=$1 file=$2 user=$3 comm=$4 marker=$5 signal=${6:-TERM} pid
  pid=$(daemon_pid "$file" "$user" "$comm" "$marker")
  if [ -n "$pid" ]; then
    log "stopping $name (pid $pid)"
    as_user "$user" kill -s "$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do pid_is "$pid" "$user" "$comm" "$marker" || break; sleep 0.5; done
    if pid_is "$pid" "$user" "$comm" "$marker"; then as_user "$user" kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$file"
}

es_health() { curl -sf "http://127.0.0.1:$ES_PORT/_cluster/health" 2>/dev/null; }
ES_MARKER="-Des.path.home=$ES_HOME"
stop_es() { stop_daemon elasticsearch "$ES_PID" "$ES_USER" java "$ES_MARKER"; }

up_elasticsearch() {
  if es_health >/dev/null; then log "elasticsearch already up on 127.0.0.1:$ES_PORT"; return; fi
  local jh; jh=$(java_home)
  fresh_pidfile "$ES_PID" "$ES_USER"
  log "starting elasticsearch $ES_VERSION (java: $jh)"
  (cd "$ES_HOME" && ES_JAVA_HOME="$jh" HOME="$ES_HOME" as_user "$ES_USER" "$ES_HOME/bin/elasticsearch" -d -p "$ES_PID") \
    >"$RUN_DIR/es-start.log" 2>&1 || { cat "$RUN_DIR/es-start.log" >&2; return 1; }
  for _ in $(seq 1 120); do
    if es_health | grep -qE '"status":"(green|yellow)"'; then log "elasticsearch healthy on http://127.0.0.1:$ES_PORT"; return; fi
    sleep 1
  done
  log "elasticsearch did not become healthy; last log lines:"; tail -n 30 "$ES_LOGS"/*.log >&2 || true
  return 1
}

rabbit_env() {
  export RABBITMQ_MNESIA_BASE="$RABBIT_DIR/mnesia" RABBITMQ_LOG_BASE="$RABBIT_DIR/log"
  export RABBITMQ_NODENAME="$RABBIT_NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$RABBIT_PORT"
  export RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT" RABBITMQ_PID_FILE="$RABBIT_PID"
  export RABBITMQ_CONFIG_FILE="$RABBIT_CONF_DIR/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$RABBIT_DIR/enabled_plugins"
  export RABBITMQ_ENABLED_PLUGINS=""
  # Erlang distribution on loopback, for the node and for every CLI call (which is a short-lived node too).
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  # The Erlang cookie is $HOME/.erlang.cookie: the node's user creates it (mode 400) and every CLI call
  # runs as that same user, so nobody else needs to read it.
  export HOME="$RABBIT_DIR"
}

# Who runs the Erlang processes: the daemon user, or root for a node an older services.sh started as root
# (its folder still belongs to root) so that `down` can stop it once.
rabbit_runner() {
  if [ -d "$RABBIT_DIR" ] && [ "$(stat -c %U "$RABBIT_DIR")" = root ]; then echo root; else echo "$RABBIT_USER"; fi
}

epmd_up() { epmd -port "$ERL_EPMD_PORT" -names >/dev/null 2>&1; }

rabbitctl() {
  # No epmd, no node. Asking anyway would make the CLI start epmd itself, as whoever runs the CLI: only
  # the node starts it, as its own user.
  epmd_up || { echo "rabbitmq: no epmd on port $ERL_EPMD_PORT" >&2; return 69; }
  local user; user=$(rabbit_runner)
  if [ "$user" = root ]; then
    (rabbit_env; cd /; /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBIT_NODE" "$@")
  else
    (rabbit_env; cd /; as_user "$user" /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBIT_NODE" "$@")
  fi
}

up_rabbitmq() {
  mkdir -p "$RUN_DIR"
  if rabbitctl status >/dev/null 2>&1; then log "rabbitmq already up on 127.0.0.1:$RABBIT_PORT"; return; fi
  # Config where only root writes; data (and the Erlang cookie) owned by the daemon user.
  mkdir -p "$RABBIT_CONF_DIR" "$RABBIT_DIR/mnesia" "$RABBIT_DIR/log"
  chown root: "$RABBIT_CONF_DIR" && chmod 755 "$RABBIT_CONF_DIR"
  # Loopback only; the guest user may connect from localhost. A generous disk limit keeps small CI disks working.
  printf 'loopback_users.guest = true\nlisteners.tcp.default = 127.0.0.1:%s\ndisk_free_limit.absolute = 200MB\n' \
    "$RABBIT_PORT" >"$RABBIT_CONF_DIR/rabbitmq.conf"
  chmod 644 "$RABBIT_CONF_DIR/rabbitmq.conf"
  chown -R "$RABBIT_USER:" "$RABBIT_DIR" && chmod 750 "$RABBIT_DIR"
  # RabbitMQ rewrites its plugins file at boot, so it lives with the data, written as the daemon user.
  echo '[].' | as_user "$RABBIT_USER" tee "$RABBIT_DIR/enabled_plugins" >/dev/null
  fresh_pidfile "$RABBIT_PID" "$RABBIT_USER"
  log "starting rabbitmq"
  (rabbit_env; cd "$RABBIT_DIR"; as_user "$RABBIT_USER" /usr/lib/rabbitmq/bin/rabbitmq-server -detached) \
    >"$RUN_DIR/rabbit-start.log" 2>&1
  for _ in $(seq 1 60); do epmd_up && break; sleep 0.5; done
  # The pid file exists (pre-created for the daemon user) but stays empty until the node writes it, and
  # `rabbitmqctl wait` calls an empty one garbage instead of waiting: wait for the pid first.
  for _ in $(seq 1 120); do [ -s "$RABBIT_PID" ] && break; sleep 0.5; done
  rabbitctl wait --timeout 60 "$RABBIT_PID" >/dev/null
  log "rabbitmq healthy on amqp://127.0.0.1:$RABBIT_PORT"
}

stop_rabbitmq() {
  if rabbitctl status >/dev/null 2>&1; then log "stopping rabbitmq"; rabbitctl stop >/dev/null 2>&1 || true; fi
  rm -f "$RABBIT_PID"
}

REDIS_MARKER="127.0.0.1:$REDIS_PORT"
redis_ping() { redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

up_redis() {
  mkdir -p "$REDIS_DIR" "$RUN_DIR"
  if redis_ping; then log "redis already up on 127.0.0.1:$REDIS_PORT"; return; fi
  chown -R "$REDIS_USER:" "$REDIS_DIR" && chmod 750 "$REDIS_DIR"
  fresh_pidfile "$REDIS_PID" "$REDIS_USER"
  # appendonly: ingest state (versions, keys, idempotency) must survive a restart.
  (cd "$REDIS_DIR" && as_user "$REDIS_USER" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
    --pidfile "$REDIS_PID" --dir "$REDIS_DIR" --appendonly yes --appendfsync everysec \
    --logfile "$REDIS_DIR/redis.log") >/dev/null
  for _ in $(seq 1 50); do
    redis_ping && { log "redis healthy on redis://127.0.0.1:$REDIS_PORT"; return; }
    sleep 0.2
  done
  log "redis did not start"; return 1
}

stop_redis() {
  stop_daemon redis "$REDIS_PID" "$REDIS_USER" redis-server "$REDIS_MARKER"
  # A redis an older services.sh started as root has no trustworthy pid file: ask it to shut down.
  if redis_ping; then log "stopping redis on 127.0.0.1:$REDIS_PORT (shutdown command)"; redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true; fi
}

edge_health() { curl -sf -o /dev/null "http://127.0.0.1:$EDGE_PORT/.edge/health" 2>/dev/null; }
EDGE_MARKER="$EDGE_WORK"

up_edge() {
  if [ "${KABAR_EDGE:-on}" = off ]; then log "edge off (KABAR_EDGE=off)"; return; fi
  if edge_health; then log "varnish already up on 127.0.0.1:$EDGE_PORT"; return; fi
  mkdir -p "$EDGE_CONF" "$EDGE_WORK" "$RUN_DIR"
  cp "$ROOT/deploy/varnish/kabar.vcl" "$EDGE_CONF/kabar.vcl"
  sed -e "s/@PUBLISH_PORT@/$EDGE_PUBLISH_PORT/" -e "s/@INGEST_PORT@/$EDGE_INGEST_PORT/" \
    "$ROOT/deploy/varnish/local-backends.vcl.in" >"$EDGE_CONF/kabar-backends.vcl"
  chown -R root: "$EDGE_CONF" && chmod 755 "$EDGE_CONF" && chmod 644 "$EDGE_CONF"/*.vcl
  chown -R "$EDGE_USER:" "$EDGE_WORK" && chmod 750 "$EDGE_WORK"
  fresh_pidfile "$EDGE_PID" "$EDGE_USER"
  log "starting varnish (edge) on 127.0.0.1:$EDGE_PORT for publish on :$EDGE_PUBLISH_PORT"
  # No jail: it runs as its own unprivileged user from the start. The admin port (varnishadm -n
  # $EDGE_WORK, as that user or root) is loopback only, with the secret varnishd writes into its folder.
  (cd "$EDGE_WORK" && as_user "$EDGE_USER" varnishd -j none -n "$EDGE_WORK" -P "$EDGE_PID" \
    -a "127.0.0.1:$EDGE_PORT" -T "127.0.0.1:$EDGE_ADMIN_PORT" \
    -p vcl_path="$EDGE_CONF" -f "$EDGE_CONF/kabar.vcl" -s "malloc,$EDGE_MEMORY") \
    >"$RUN_DIR/varnish-start.log" 2>&1 || { cat "$RUN_DIR/varnish-start.log" >&2; return 1; }
  for _ in $(seq 1 60); do
    edge_health && { log "varnish healthy on http://127.0.0.1:$EDGE_PORT"; return; }
    sleep 0.5
  done
  log "varnish did not start"; cat "$RUN_DIR/varnish-start.log" >&2; return 1
}

stop_edge() { stop_daemon varnish "$EDGE_PID" "$EDGE_USER" varnishd "$EDGE_MARKER"; }

# PostgreSQL as its own user: the environment psql and pg_ctl see (no ~/.psqlrc, no stray PG* settings).
pg_as_user() {
  (
    cd "$PG_DIR"
    unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE PGOPTIONS PGSERVICE PGSERVICEFILE
    export HOME="$PG_DIR"
    as_user "$PG_USER" "$@"
  )
}
pg_ready() {
  local isready="$PG_BIN/pg_isready"
  [ -x "$isready" ] || isready=pg_isready
  "$isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 >/dev/null 2>&1
}
# A real query as Kabar's role over TCP, the way the services connect (the password never on a command line).
pg_query_ok() {
  [ "$(unset PGOPTIONS PGSERVICE PGPASSFILE; PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -qtA \
    -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DB" -c 'select 1' 2>/dev/null)" = 1 ]
}
# The postmaster is the only postgres process of its user with the data folder on its command line
# (its children rewrite theirs).
PG_MARKER="$PG_DATA"
postgres_pid() { daemon_pid "$PG_PID" "$PG_USER" postgres "$PG_MARKER"; }

# The cluster, once: UTF-8, C.UTF-8 collation where the locale exists. initdb insists on a superuser
# password when host connections use scram; it is random and thrown away, since the superuser only ever
# comes in through the socket.
pg_initdb() {
  [ -f "$PG_DATA/PG_VERSION" ] && return
  local lc=C pwfile
  locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$' && lc=C.UTF-8
  log "initdb $PG_DATA (locale $lc)"
  rm -rf "$PG_DATA"
  pwfile=$(mktemp "$PG_DIR/.initdb-pw.XXXXXX")
  head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$pwfile"
  chown "$PG_USER:" "$pwfile" && chmod 600 "$pwfile"
  pg_as_user "$PG_BIN/initdb" -D "$PG_DATA" --username="$PG_USER" --pwfile="$pwfile" --auth-local=peer \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale="$lc" >"$PG_DIR/initdb.log" 2>&1 \
    || { rm -f "$pwfile"; cat "$PG_DIR/initdb.log" >&2; return 1; }
  rm -f "$pwfile"
  # The configuration in use is $PG_CONF's: initdb's copies would only mislead.
  rm -f "$PG_DATA/postgresql.conf" "$PG_DATA/pg_hba.conf" "$PG_DATA/pg_ident.conf"
}

pg_write_conf() {
  mkdir -p "$PG_CONF"
  cat >"$PG_CONF/postgresql.conf" <<CONF
# Written by scripts/services.sh on every start; edits here are lost.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
unix_socket_permissions = 0700
hba_file = '$PG_CONF/pg_hba.conf'
ident_file = '$PG_CONF/pg_ident.conf'
external_pid_file = '$PG_PID'
password_encryption = scram-sha-256
max_connections = 200
shared_buffers = 128MB
# Reader comments live only here: every commit is durable.
fsync = on
synchronous_commit = on
full_page_writes = on
timezone = 'UTC'
log_timezone = 'UTC'
lc_messages = 'C'
log_line_prefix = '%m [%p] %q%u@%d '
CONF
  # The superuser (the daemon's user) through the socket only; everyone else over loopback TCP with a
  # password, never as the superuser.
  cat >"$PG_CONF/pg_hba.conf" <<HBA
# TYPE  DATABASE  USER          ADDRESS        METHOD
local   all       $PG_USER      peer
host    all       $PG_USER      127.0.0.1/32   reject
host    all       all           127.0.0.1/32   scram-sha-256
HBA
  : >"$PG_CONF/pg_ident.conf"
  chown -R root: "$PG_CONF" && chmod 755 "$PG_CONF" && chmod 644 "$PG_CONF"/*
}

# Kabar's role and database, checked on every `up` and created when missing (as the superuser, over the
# socket; the SQL goes in on stdin, so the password is on no command line).
pg_ensure_db() {
  pg_as_user "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -d postgres >/dev/null <<SQL
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', '$PG_ROLE', '$PG_PASSWORD')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$PG_DB', '$PG_ROLE')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB')\gexec
SQL
}

up_postgres() {
  if [ "${KABAR_POSTGRES:-on}" = off ]; then log "postgres off (KABAR_POSTGRES=off)"; return; fi
  if pg_ready; then
    # Ours (this checkout's cluster, its socket in our folder): make sure of the role and database. Another
    # cluster on the port is left alone, like a redis already there.
    if [ -S "$PG_DIR/.s.PGSQL.$PG_PORT" ] && [ -n "$(postgres_pid)" ]; then pg_ensure_db; fi
    pg_query_ok || { log "a PostgreSQL on 127.0.0.1:$PG_PORT does not let $PG_ROLE into $PG_DB (KABAR_PG_PORT?)"; return 1; }
    log "postgres already up on 127.0.0.1:$PG_PORT"; return
  fi
  [ -x "$PG_BIN/pg_ctl" ] || { log "no PostgreSQL 15 in $PG_BIN (scripts/services.sh install)"; return 1; }
  mkdir -p "$PG_DIR" "$RUN_DIR"
  chown "$PG_USER:" "$PG_DIR" && chmod 750 "$PG_DIR"
  pg_initdb
  pg_write_conf
  fresh_pidfile "$PG_PID" "$PG_USER"
  log "starting postgres 15 on 127.0.0.1:$PG_PORT"
  pg_as_user "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s \
    -o "-c config_file=$PG_CONF/postgresql.conf" >"$RUN_DIR/postgres-start.log" 2>&1 \
    || { cat "$RUN_DIR/postgres-start.log" >&2; tail -n 30 "$PG_LOG" >&2 || true; return 1; }
  for _ in $(seq 1 60); do pg_ready && break; sleep 0.5; done
  pg_ensure_db
  if pg_query_ok; then log "postgres healthy on postgresql://127.0.0.1:$PG_PORT/$PG_DB"; return; fi
  log "postgres does not answer queries as $PG_ROLE; last log lines:"; tail -n 30 "$PG_LOG" >&2 || true
  return 1
}

# Fast shutdown (SIGINT, what `pg_ctl stop -m fast` sends): clients are disconnected, a checkpoint is written.
stop_postgres() { stop_daemon postgres "$PG_PID" "$PG_USER" postgres "$PG_MARKER" INT; }

# MariaDB as its own user, with only its own configuration file (no /etc/mysql, no ~/.my.cnf).
mariadb_as_user() {
  (
    cd "$MARIADB_DIR"
    unset MYSQL_HOST MYSQL_TCP_PORT MYSQL_UNIX_PORT MYSQL_PWD
    export HOME="$MARIADB_DIR"
    as_user "$MARIADB_USER" "$@"
  )
}
# Alive: the server answers on its port. mariadb-admin ping succeeds when the login is refused, but not when
# the server turns the host away, as a new one does until it has a user for 127.0.0.1.
mariadb_alive() {
  local out
  out=$(mariadb-admin --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MARIADB_PORT" --connect-timeout=2 ping 2>&1) \
    || [[ "$out" == *"is not allowed to connect"* ]]
}
# A real query as WordPress's user over TCP, the way WordPress connects (the password in the environment,
# never on a command line).
mariadb_query_ok() {
  [ "$(MYSQL_PWD="$WP_DB_PASSWORD" mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MARIADB_PORT" \
    --connect-timeout=5 -u "$WP_DB_USER" -N -B -e 'select 1' "$WP_DB" 2>/dev/null)" = 1 ]
}
MARIADB_MARKER="--defaults-file=$MARIADB_CONF"
mariadb_pid() { daemon_pid "$MARIADB_PID" "$MARIADB_USER" mariadbd "$MARIADB_MARKER"; }

mariadb_write_conf() {
  mkdir -p "${MARIADB_CONF%/*}"
  cat >"$MARIADB_CONF" <<CONF
# Written by scripts/services.sh on every start; edits here are lost.
[mariadbd]
datadir = $MARIADB_DATA
socket = $MARIADB_SOCKET
port = $MARIADB_PORT
bind-address = 127.0.0.1
pid-file = $MARIADB_PID
log-error = $MARIADB_DIR/mariadb.log
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
innodb_buffer_pool_size = 64M
max_connections = 100
performance_schema = OFF
CONF
  chown -R root: "${MARIADB_CONF%/*}" && chmod 755 "${MARIADB_CONF%/*}" && chmod 644 "$MARIADB_CONF"
}

# The system tables, once; the superuser is the daemon's own user through the socket, and root@localhost
# exists only for unix_socket logins too.
mariadb_initdb() {
  [ -d "$MARIADB_DATA/mysql" ] && return
  log "mariadb-install-db $MARIADB_DATA"
  rm -rf "$MARIADB_DATA"
  mariadb_as_user mariadb-install-db "$MARIADB_MARKER" --auth-root-authentication-method=socket \
    --auth-root-socket-user="$MARIADB_USER" --skip-test-db >"$MARIADB_DIR/install-db.log" 2>&1 \
    || { cat "$MARIADB_DIR/install-db.log" >&2; return 1; }
}

# WordPress's database and user, checked on every start and created when missing (as the superuser, through
# the socket; the SQL goes in on stdin, so the password is on no command line).
mariadb_ensure_db() {
  mariadb_as_user mariadb --no-defaults --socket="$MARIADB_SOCKET" -u "$MARIADB_USER" <<SQL
CREATE DATABASE IF NOT EXISTS \`$WP_DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$WP_DB_USER'@'127.0.0.1' IDENTIFIED BY '$WP_DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$WP_DB\`.* TO '$WP_DB_USER'@'127.0.0.1';
SQL
}

up_mariadb() {
  if mariadb_alive; then
    # Ours (this checkout's server, its socket in our folder): make sure of the database and user. Another
    # server on the port is left alone.
    if [ -S "$MARIADB_SOCKET" ] && [ -n "$(mariadb_pid)" ]; then mariadb_ensure_db; fi
    mariadb_query_ok || { log "a MariaDB on 127.0.0.1:$MARIADB_PORT does not let $WP_DB_USER into $WP_DB (KABAR_MARIADB_PORT?)"; return 1; }
    log "mariadb already up on 127.0.0.1:$MARIADB_PORT"; return
  fi
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || { log "no mariadbd (scripts/setup.sh installs mariadb-server)"; return 1; }
  mkdir -p "$MARIADB_DIR" "$RUN_DIR"
  chown "$MARIADB_USER:" "$MARIADB_DIR" && chmod 750 "$MARIADB_DIR"
  mariadb_write_conf
  mariadb_initdb
  fresh_pidfile "$MARIADB_PID" "$MARIADB_USER"
  log "starting mariadb on 127.0.0.1:$MARIADB_PORT"
  mariadb_as_user setsid -f /usr/sbin/mariadbd "$MARIADB_MARKER" </dev/null >"$RUN_DIR/mariadb-start.log" 2>&1
  for _ in $(seq 1 120); do mariadb_alive && [ -S "$MARIADB_SOCKET" ] && break; sleep 0.5; done
  mariadb_ensure_db || { tail -n 30 "$MARIADB_DIR/mariadb.log" >&2 || true; return 1; }
  if mariadb_query_ok; then log "mariadb healthy on 127.0.0.1:$MARIADB_PORT (database $WP_DB)"; return; fi
  log "mariadb does not answer queries as $WP_DB_USER; last log lines:"; tail -n 30 "$MARIADB_DIR/mariadb.log" >&2 || true
  return 1
}

stop_mariadb() { stop_daemon mariadb "$MARIADB_PID" "$MARIADB_USER" mariadbd "$MARIADB_MARKER"; }

WP_PHP="$(readlink -f "$(command -v php 2>/dev/null || echo /usr/bin/php)")"
WP_MARKER="$WP_DIR/router.php"
wp_pid() { daemon_pid "$WP_PID" "$WP_USER" "${WP_PHP##*/}" "$WP_MARKER"; }
# Healthy: the REST API answers and takes the admin's Application Password.
wp_auth_ok() {
  [ -s "$WP_SECRETS/app-password" ] || return 1
  curl -sf -o /dev/null --max-time 10 -K - "$WP_URL/wp-json/wp/v2/users/me?context=edit" 2>/dev/null <<CURL
user = "$WP_ADMIN:$(cat "$WP_SECRETS/app-password")"
CURL
}
wp_answers() { curl -sf -o /dev/null --max-time 10 "$WP_URL/wp-json/" 2>/dev/null; }

# php-cli as the site's user, against the private copy (install.php, export.php).
wp_php() {
  (
    cd "$WP_DIR"
    export HOME="$WP_DIR" KABAR_WP_URL="$WP_URL"
    as_user "$WP_USER" "$WP_PHP" "$@"
  )
}

# The private copy of Debian's WordPress, made again when the package changes, and its wp-config.php (written
# on every start: the port may change). The keys and salts are made once and kept.
wp_site() {
  local version
  version=$(dpkg-query -W -f '${Version}' wordpress 2>/dev/null) || { log "no wordpress package (scripts/setup.sh)"; return 1; }
  mkdir -p "$WP_DIR" "$WP_SECRETS"
  chown root: "$WP_DIR" "$WP_SECRETS" && chmod 755 "$WP_DIR" && chmod 700 "$WP_SECRETS"
  [ "$WP_SECRETS" = "$WP_DIR" ] && chmod 755 "$WP_DIR"
  if [ "$(cat "$WP_DIR/site.version" 2>/dev/null)" != "$version" ]; then
    log "copying Debian's wordpress $version into $WP_SITE"
    rm -rf "$WP_SITE.tmp" && cp -a /usr/share/wordpress "$WP_SITE.tmp"
    rm -f "$WP_SITE.tmp/.htaccess" "$WP_SITE.tmp/wp-config.php"
    if [ -d "$WP_SITE/wp-content/uploads" ]; then mv "$WP_SITE/wp-content/uploads" "$WP_SITE.tmp/wp-content/uploads"; fi
    rm -rf "$WP_SITE" && mv "$WP_SITE.tmp" "$WP_SITE"
    echo "$version" >"$WP_DIR/site.version"
  fi
  mkdir -p "$WP_SITE/wp-content/uploads"
  chown -R "$WP_USER:" "$WP_SITE/wp-content/uploads"
  if [ ! -s "$WP_DIR/keys.php" ]; then
    {
      echo '<?php'
      for key in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
        printf "define('%s', '%s');\n" "$key" "$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
      done
    } >"$WP_DIR/keys.php.tmp"
    mv "$WP_DIR/keys.php.tmp" "$WP_DIR/keys.php"
  fi
  cat >"$WP_SITE/wp-config.php" <<PHP
<?php
// Written by scripts/services.sh on every start; edits here are lost.
define('DB_NAME', '$WP_DB');
define('DB_USER', '$WP_DB_USER');
define('DB_PASSWORD', '$WP_DB_PASSWORD');
define('DB_HOST', '127.0.0.1:$MARIADB_PORT');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
require __DIR__ . '/../keys.php';
\$table_prefix = 'wp_';
define('WP_HOME', '$WP_URL');
define('WP_SITEURL', '$WP_URL');
// Application Passwords over plain http need the 'local' environment type.
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_DEBUG', false);
// A test site: no updates, no plugin or theme installs, no calls to the internet (this machine has none).
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('DISALLOW_FILE_MODS', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
PHP
  for f in router.php install.php export.php; do cp "$ROOT/scripts/wordpress/$f" "$WP_DIR/$f"; done
  chown root: "$WP_DIR"/*.php "$WP_SITE/wp-config.php"
  chmod 644 "$WP_DIR"/router.php "$WP_DIR"/install.php "$WP_DIR"/export.php
  # The database password and the keys: root and the site's user only.
  chgrp "$WP_USER" "$WP_DIR/keys.php" "$WP_SITE/wp-config.php" && chmod 640 "$WP_DIR/keys.php" "$WP_SITE/wp-config.php"
}

# WordPress's own installer (once), the permalink structure, and a new Application Password when the one on
# file does not work (written with mode 600 for root; the login password likewise, made once).
wp_install() {
  local admin_password app_password
  if [ ! -s "$WP_SECRETS/admin-password" ]; then
    (umask 077; head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$WP_SECRETS/admin-password")
  fi
  admin_password=$(cat "$WP_SECRETS/admin-password")
  if wp_answers && wp_auth_ok; then
    KABAR_WP_ADMIN_PASSWORD="$admin_password" wp_php "$WP_DIR/install.php" "$WP_SITE" >/dev/null
    return
  fi
  app_password=$(KABAR_WP_ADMIN_PASSWORD="$admin_password" KABAR_WP_NEW_APP_PASSWORD=1 wp_php "$WP_DIR/install.php" "$WP_SITE") \
    || { log "wordpress install failed"; return 1; }
  [ -n "$app_password" ] || { log "wordpress made no application password"; return 1; }
  (umask 077; printf '%s\n' "$app_password" >"$WP_SECRETS/app-password.tmp")
  mv "$WP_SECRETS/app-password.tmp" "$WP_SECRETS/app-password"
}

up_wordpress() {
  if [ "${KABAR_WORDPRESS:-on}" = off ]; then log "wordpress off (KABAR_WORDPRESS=off)"; return; fi
  up_mariadb
  if wp_auth_ok; then log "wordpress already up on $WP_URL"; return; fi
  # Another checkout's WordPress on the port (its password is not ours to read) is left alone, like a redis
  # already there.
  if [ -z "$(wp_pid)" ] && wp_answers; then
    log "a WordPress not started from $LOCAL answers on $WP_URL: left alone (KABAR_WORDPRESS_PORT?)"; return
  fi
  [ -x "$WP_PHP" ] || { log "no php (scripts/setup.sh installs php-cli)"; return 1; }
  wp_site
  if [ -z "$(wp_pid)" ]; then
    fresh_pidfile "$WP_PID" "$WP_USER"
    log "starting wordpress on $WP_URL (PHP built-in server, $WP_WORKERS workers)"
    # In a session of its own, leading its workers' process group; it writes its own pid file.
    (
      cd "$WP_SITE"
      export HOME="$WP_DIR" PHP_CLI_SERVER_WORKERS="$WP_WORKERS"
      # shellcheck disable=SC2016 # $$ and $@ are the inner shell's
      as_user "$WP_USER" setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$WP_PID" "$WP_PHP" \
        -d upload_max_filesize=32M -d post_max_size=32M -d memory_limit=256M -d opcache.enable_cli=1 \
        -S "127.0.0.1:$WP_PORT" -t "$WP_SITE" "$WP_MARKER" </dev/null >"$WP_DIR/php-server.log" 2>&1
    )
    for _ in $(seq 1 60); do wp_answers && break; sleep 0.5; done
  fi
  wp_install
  if wp_auth_ok; then log "wordpress healthy on $WP_URL (application password in $WP_SECRETS/app-password)"; return; fi
  log "wordpress does not take its application password; last log lines:"; tail -n 30 "$WP_DIR/php-server.log" >&2 || true
  return 1
}

# The built-in server leads its workers' process group (they outlive a TERM to it alone): the group gets the
# signal, sent as kabar-wp, once the leader checks out; a process left over is stopped the same checked way.
stop_wordpress() {
  local pid
  pid=$(wp_pid)
  if [ -n "$pid" ] && [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then
    log "stopping wordpress (pid $pid and its workers)"
    as_user "$WP_USER" kill -s TERM -- "-$pid" 2>/dev/null || true
    rm -f "$WP_PID"
    for _ in $(seq 1 20); do [ -z "$(wp_pid)" ] && break; sleep 0.25; done
  fi
  for _ in $(seq 1 "$((WP_WORKERS + 1))"); do
    pid=$(wp_pid)
    [ -n "$pid" ] || break
    stop_daemon "wordpress worker" "$WP_PID" "$WP_USER" "${WP_PHP##*/}" "$WP_MARKER"
  done
  rm -f "$WP_PID"
}

# The local cluster's functions (cluster_*), which use the ones above.
# shellcheck source=scripts/cluster.sh
. "$ROOT/scripts/cluster.sh"

cmd_down() {
  # The local cluster too, best effort (in a condition: one that will not stop keeps nothing else running).
  cluster_down || log "the local cluster did not stop cleanly (scripts/services.sh cluster-status)"
  stop_wordpress
  stop_mariadb
  stop_edge
  stop_es
  stop_postgres
  stop_redis
  stop_rabbitmq
  epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 || true
}

cmd_status() {
  es_health && echo || echo "elasticsearch: down"
  rabbitctl status >/dev/null 2>&1 && echo "rabbitmq: up" || echo "rabbitmq: down"
  redis-cli -p "$REDIS_PORT" ping 2>/dev/null || echo "redis: down"
  edge_health && echo "varnish: up on 127.0.0.1:$EDGE_PORT" || echo "varnish: down"
  pg_ready && echo "postgres: up on 127.0.0.1:$PG_PORT" || echo "postgres: down"
  mariadb_alive && echo "mariadb: up on 127.0.0.1:$MARIADB_PORT" || echo "mariadb: down"
  wp_answers && echo "wordpress: up on $WP_URL" || echo "wordpress: down"
}

case "${1:-up}" in
  install) install_packages; install_elasticsearch; install_users ;;
  up)
    install_packages; install_elasticsearch; install_users
    up_redis; up_rabbitmq; up_postgres; up_elasticsearch; up_edge; up_wordpress
    echo "elasticsearch http://127.0.0.1:$ES_PORT  rabbitmq amqp://guest:guest@127.0.0.1:$RABBIT_PORT//  redis redis://127.0.0.1:$REDIS_PORT/0  postgres postgresql://$PG_ROLE:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
    if [ "${KABAR_WORDPRESS:-on}" != off ]; then echo "mariadb 127.0.0.1:$MARIADB_PORT  wordpress $WP_URL"; fi
    ;;
  down) cmd_down ;;
  status) cmd_status ;;
  restart-es) stop_es; up_elasticsearch ;;
  stop-es) stop_es ;;
  start-es) up_elasticsearch ;;
  stop-rabbitmq) rabbitctl stop >/dev/null 2>&1 || true ;;
  start-rabbitmq) up_rabbitmq ;;
  start-edge) up_edge ;;
  stop-edge) stop_edge ;;
  start-postgres) install_users; up_postgres ;;
  stop-postgres) stop_postgres ;;
  start-wordpress) install_users; up_wordpress ;;
  stop-wordpress) stop_wordpress; stop_mariadb ;;
  # WordPress's own WXR export of the running site on stdout: all (default), post, page or attachment.
  export-wordpress) wp_php "$WP_DIR/export.php" "$WP_SITE" "${2:-all}" ;;
  # Not in a condition (`|| ...`), which would switch set -e off inside every function it calls.
  cluster-*) cluster_command "$@" ;;
  *) echo "usage: $0 install|up|down|status|stop-es|start-es|restart-es|stop-rabbitmq|start-rabbitmq|start-edge|stop-edge|start-postgres|stop-postgres|start-wordpress|stop-wordpress|export-wordpress [all|post|page|attachment]|cluster-up|cluster-down|cluster-status|cluster-env|cluster-kill-es N|cluster-start-es N|cluster-kill-rabbit N|cluster-start-rabbit N|cluster-stop-redis PORT|cluster-start-redis PORT|cluster-redis-primary" >&2; exit 2 ;;
esac
