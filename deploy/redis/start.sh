#!/bin/sh
# Starts Redis with one ACL user per Kabar service, written from the environment at every start.
# The users file holds SHA-256 hashes only (on a tmpfs), and no password is ever a command-line argument:
# printf is a shell builtin, and the variables are unset before Redis starts.
#   ingest:  its prefix's keys (API keys, versions, idempotency, rate limits), no pub/sub
#   worker:  its prefix's keys and publishing purge notices (plus DUMP/RESTORE/SCAN for snapshots)
#   publish: subscribing to the purge channel, and SET (NX, with expiry) on its comment-form keys only (each
#            proof of work and question accepted once); also the health check's user
# The default user is off: nobody connects without a password.
#
# A replicated deployment (docker-compose.cluster.yml: a primary, its replica, Sentinels) adds two users of its
# own, each only when its password is given:
#   replication  (REDIS_REPLICATION_PASSWORD) PSYNC/REPLCONF/PING only: how a replica (either node, after a
#                failover) follows the primary. Every node also gets it as its masteruser/masterauth, in a
#                file beside the users file, so whichever node Sentinel turns into a replica can follow.
#   sentinel     (REDIS_SENTINEL_PASSWORD) what Sentinel needs on a monitored server (INFO, ROLE, REPLICAOF,
#                CONFIG REWRITE, hello pub/sub)
# and, when KABAR_REDIS_REPLICA_OF ("host port") is set, starts as that primary's replica (which needs the
# replication user). REDIS_HOST is the name this node announces to the primary and the Sentinels
# (--replica-announce-ip; they resolve hostnames), REDIS_PORT its port.
set -eu
umask 077
: "${KABAR_PREFIX:=kabar}"
for var in REDIS_INGEST_PASSWORD REDIS_WORKER_PASSWORD REDIS_PUBLISH_PASSWORD; do
  eval "value=\${$var:-}"
  if [ -z "$value" ]; then echo "$var is not set" >&2; exit 1; fi
done
eval "replication=\${REDIS_REPLICATION_PASSWORD:-} sentinel=\${REDIS_SENTINEL_PASSWORD:-}"
if [ -n "${KABAR_REDIS_REPLICA_OF:-}" ] && [ -z "$replication" ]; then
  echo "KABAR_REDIS_REPLICA_OF needs REDIS_REPLICATION_PASSWORD (the replication user)" >&2; exit 1
fi
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
keys="~${KABAR_PREFIX}:*"
data="-@all +@read +@write +@scripting +@transaction +@connection -@dangerous -function -script|flush -script|kill"
run="${KABAR_REDIS_RUN_DIR:-/tmp}"
acl="${KABAR_REDIS_ACL_FILE:-$run/kabar-users.acl}"
{
  printf 'user default off resetkeys resetchannels -@all\n'
  printf 'user ingest on #%s %s resetchannels %s\n' "$(sha "$REDIS_INGEST_PASSWORD")" "$keys" "$data"
  printf 'user worker on #%s %s &%s:* %s +publish +scan +dump +restore\n' \
    "$(sha "$REDIS_WORKER_PASSWORD")" "$keys" "$KABAR_PREFIX" "$data"
  printf 'user publish on #%s resetkeys ~%s:comments:pow:* ~%s:comments:soal:* &%s:purge -@all +@connection -@dangerous +subscribe +unsubscribe +set\n' \
    "$(sha "$REDIS_PUBLISH_PASSWORD")" "$KABAR_PREFIX" "$KABAR_PREFIX" "$KABAR_PREFIX"
  if [ -n "$replication" ]; then
    printf 'user replication on #%s resetkeys resetchannels -@all +psync +replconf +ping\n' "$(sha "$replication")"
  fi
  if [ -n "$sentinel" ]; then
    printf 'user sentinel on #%s resetkeys allchannels -@all +multi +exec +ping +info +role +slaveof +replicaof +publish +subscribe +config|rewrite +client|setname +client|kill +script|kill\n' \
      "$(sha "$sentinel")"
  fi
} >"$acl"
# Options before the caller's arguments (which come last, so override them).
set -- --aclfile "$acl" --dir "${REDIS_DATA_DIR:-/data}" --appendonly yes --appendfsync everysec "$@"
if [ -n "$replication" ]; then
  # masterauth is a password: in a file Redis includes (on the tmpfs), never on its command line.
  printf 'masteruser replication\nmasterauth %s\n' "$replication" >"$run/kabar-replication.conf"
  set -- --include "$run/kabar-replication.conf" "$@"
fi
if [ -n "${REDIS_PORT:-}" ]; then set -- --port "$REDIS_PORT" "$@"; fi
if [ -n "${REDIS_HOST:-}" ]; then set -- --replica-announce-ip "$REDIS_HOST" "$@"; fi
if [ -n "${KABAR_REDIS_REPLICA_OF:-}" ]; then
  set -- --replicaof "${KABAR_REDIS_REPLICA_OF% *}" "${KABAR_REDIS_REPLICA_OF#* }" "$@"
fi
unset REDIS_INGEST_PASSWORD REDIS_WORKER_PASSWORD REDIS_PUBLISH_PASSWORD REDIS_REPLICATION_PASSWORD
unset REDIS_SENTINEL_PASSWORD value replication sentinel
exec redis-server "$@"
