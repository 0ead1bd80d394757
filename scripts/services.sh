#!/usr/bin/env bash
# Installs and runs Kabar's backing services on loopback without Docker:
#   Elasticsearch (Elastic's integ-test distribution from Maven Central), RabbitMQ and Redis (Debian).
# Usage: scripts/services.sh install|up|down|status
# Every command is idempotent. `down` stops only what `up` started, through pid files and node names.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="${KABAR_LOCAL_DIR:-$ROOT/.local}"
# The one place the Elasticsearch version lives; the Python client's major must match (pyproject.toml).
ES_VERSION="${KABAR_ES_VERSION:-9.5.4}"
ES_PORT="${KABAR_ES_PORT:-9200}"
ES_HEAP="${KABAR_ES_HEAP:-1g}"
ES_USER="kabar-es"
# Elasticsearch runs as an unprivileged user, who must be able to reach its folders. Under .local when
# every parent folder of the checkout is traversable by others; otherwise (a checkout under /root, say)
# under /var/lib/kabar-es/<checkout hash>, still owned by that user and still per checkout.
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
ES_PID="$LOCAL/run/elasticsearch.pid"
RABBIT_PORT="${KABAR_RABBIT_PORT:-5672}"
RABBIT_DIST_PORT="${KABAR_RABBIT_DIST_PORT:-25672}"
RABBIT_NODE="${KABAR_RABBIT_NODE:-kabar@localhost}"
# A private epmd port, so stopping it never touches another Erlang node's epmd.
export ERL_EPMD_PORT="${KABAR_EPMD_PORT:-4370}"
REDIS_PORT="${KABAR_REDIS_PORT:-6379}"
REDIS_PID="$LOCAL/run/redis.pid"

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
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian's postinst starts system-wide daemons; Kabar runs its own under .local instead.
    pkill -u rabbitmq -f beam.smp 2>/dev/null || true
    [ -f /var/run/redis/redis-server.pid ] && kill "$(cat /var/run/redis/redis-server.pid)" 2>/dev/null || true
  fi
}

install_elasticsearch() {
  id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
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
  mkdir -p "$ES_HOME/config/hunspell/id_ID" "$ES_DATA" "$ES_LOGS" "$LOCAL/run" "$ES_SNAPSHOTS"
  cp /usr/share/hunspell/id_ID.aff /usr/share/hunspell/id_ID.dic "$ES_HOME/config/hunspell/id_ID/"
  cat >"$ES_HOME/config/elasticsearch.yml" <<YML
cluster.name: kabar-local
node.name: kabar-1
discovery.type: single-node
network.host: 127.0.0.1
http.port: $ES_PORT
path.data: $ES_DATA
path.logs: $ES_LOGS
path.repo: ["$ES_SNAPSHOTS"]
xpack.security.enabled: false
xpack.ml.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
YML
  mkdir -p "$ES_HOME/config/jvm.options.d"
  printf -- '-Xms%s\n-Xmx%s\n' "$ES_HEAP" "$ES_HEAP" >"$ES_HOME/config/jvm.options.d/kabar-heap.options"
  # Elasticsearch refuses to run as root, so its folders belong to its own unprivileged user.
  chown -R "$ES_USER" "$ES_HOME" "$ES_DATA" "$ES_LOGS" "$ES_SNAPSHOTS"
  chmod 755 "$LOCAL" "$LOCAL/run"
  chmod o+rx "$ROOT" 2>/dev/null || true
}

es_health() { curl -sf "http://127.0.0.1:$ES_PORT/_cluster/health" 2>/dev/null; }

up_elasticsearch() {
  if es_health >/dev/null; then log "elasticsearch already up on 127.0.0.1:$ES_PORT"; return; fi
  local jh; jh=$(java_home)
  touch "$ES_PID" && chown "$ES_USER" "$ES_PID"
  log "starting elasticsearch $ES_VERSION (java: $jh)"
  su -s /bin/bash "$ES_USER" -c "ES_JAVA_HOME='$jh' '$ES_HOME/bin/elasticsearch' -d -p '$ES_PID'" \
    >"$LOCAL/run/es-start.log" 2>&1 || { cat "$LOCAL/run/es-start.log" >&2; return 1; }
  local i
  for i in $(seq 1 120); do
    if es_health | grep -qE '"status":"(green|yellow)"'; then log "elasticsearch healthy on http://127.0.0.1:$ES_PORT"; return; fi
    sleep 1
  done
  log "elasticsearch did not become healthy; last log lines:"; tail -n 30 "$ES_LOGS"/*.log >&2 || true
  return 1
}

rabbit_env() {
  export RABBITMQ_MNESIA_BASE="$LOCAL/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$LOCAL/rabbitmq/log"
  export RABBITMQ_NODENAME="$RABBIT_NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$RABBIT_PORT"
  export RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT" RABBITMQ_PID_FILE="$LOCAL/run/rabbitmq.pid"
  export RABBITMQ_CONFIG_FILE="$LOCAL/rabbitmq/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$LOCAL/rabbitmq/enabled_plugins"
  export RABBITMQ_ENABLED_PLUGINS="" HOME="$LOCAL/rabbitmq"
}

rabbitctl() { (rabbit_env; /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBIT_NODE" "$@"); }

up_rabbitmq() {
  mkdir -p "$LOCAL/rabbitmq/mnesia" "$LOCAL/rabbitmq/log" "$LOCAL/run"
  if rabbitctl status >/dev/null 2>&1; then log "rabbitmq already up on 127.0.0.1:$RABBIT_PORT"; return; fi
  # Loopback only; the guest user may connect from localhost. A generous disk limit keeps small CI disks working.
  printf 'loopback_users.guest = true\nlisteners.tcp.default = 127.0.0.1:%s\ndisk_free_limit.absolute = 200MB\n' \
    "$RABBIT_PORT" >"$LOCAL/rabbitmq/rabbitmq.conf"
  echo '[].' >"$LOCAL/rabbitmq/enabled_plugins"
  log "starting rabbitmq"
  (rabbit_env; /usr/lib/rabbitmq/bin/rabbitmq-server -detached) >"$LOCAL/run/rabbit-start.log" 2>&1
  sleep 2
  rabbitctl wait --timeout 60 "$LOCAL/run/rabbitmq.pid" >/dev/null
  log "rabbitmq healthy on amqp://127.0.0.1:$RABBIT_PORT"
}

up_redis() {
  mkdir -p "$LOCAL/redis" "$LOCAL/run"
  if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then log "redis already up on 127.0.0.1:$REDIS_PORT"; return; fi
  # appendonly: ingest state (versions, keys, idempotency) must survive a restart.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --pidfile "$REDIS_PID" \
    --dir "$LOCAL/redis" --appendonly yes --appendfsync everysec --logfile "$LOCAL/redis/redis.log" >/dev/null
  local i
  for i in $(seq 1 50); do
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && { log "redis healthy on redis://127.0.0.1:$REDIS_PORT"; return; }
    sleep 0.2
  done
  log "redis did not start"; return 1
}

stop_pidfile() {
  local name=$1 file=$2 pid i
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill "$pid"
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$file"
}

cmd_down() {
  stop_pidfile elasticsearch "$ES_PID"
  stop_pidfile redis "$REDIS_PID"
  if rabbitctl status >/dev/null 2>&1; then log "stopping rabbitmq"; rabbitctl stop >/dev/null 2>&1 || true; fi
  rm -f "$LOCAL/run/rabbitmq.pid"
  epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 || true
}

cmd_status() {
  es_health && echo || echo "elasticsearch: down"
  rabbitctl status >/dev/null 2>&1 && echo "rabbitmq: up" || echo "rabbitmq: down"
  redis-cli -p "$REDIS_PORT" ping 2>/dev/null || echo "redis: down"
}

case "${1:-up}" in
  install) install_packages; install_elasticsearch ;;
  up)
    install_packages; install_elasticsearch
    up_redis; up_rabbitmq; up_elasticsearch
    echo "elasticsearch http://127.0.0.1:$ES_PORT  rabbitmq amqp://guest:guest@127.0.0.1:$RABBIT_PORT//  redis redis://127.0.0.1:$REDIS_PORT/0"
    ;;
  down) cmd_down ;;
  status) cmd_status ;;
  restart-es) stop_pidfile elasticsearch "$ES_PID"; up_elasticsearch ;;
  stop-es) stop_pidfile elasticsearch "$ES_PID" ;;
  start-es) up_elasticsearch ;;
  stop-rabbitmq) rabbitctl stop >/dev/null 2>&1 || true ;;
  start-rabbitmq) up_rabbitmq ;;
  *) echo "usage: $0 install|up|down|status|stop-es|start-es|restart-es|stop-rabbitmq|start-rabbitmq" >&2; exit 2 ;;
esac
