#!/bin/sh
# Starts Redis with one ACL user per Kabar service, written from the environment at every start.
# The users file holds SHA-256 hashes only (on a tmpfs), and no password is ever a command-line argument:
# printf is a shell builtin, and the variables are unset before Redis starts.
#   ingest:  its prefix's keys (API keys, versions, idempotency, rate limits), no pub/sub
#   worker:  its prefix's keys and publishing purge notices (plus DUMP/RESTORE/SCAN for snapshots)
#   publish: subscribing to the purge channel, and SET (NX, with expiry) on its comment-form keys only (each
#            proof of work and question accepted once); also the health check's user
# The default user is off: nobody connects without a password.
set -eu
umask 077
: "${KABAR_PREFIX:=kabar}"
for var in REDIS_INGEST_PASSWORD REDIS_WORKER_PASSWORD REDIS_PUBLISH_PASSWORD; do
  eval "value=\${$var:-}"
  if [ -z "$value" ]; then echo "$var is not set" >&2; exit 1; fi
done
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
keys="~${KABAR_PREFIX}:*"
data="-@all +@read +@write +@scripting +@transaction +@connection -@dangerous -function -script|flush -script|kill"
acl="${KABAR_REDIS_ACL_FILE:-/tmp/kabar-users.acl}"
{
  printf 'user default off resetkeys resetchannels -@all\n'
  printf 'user ingest on #%s %s resetchannels %s\n' "$(sha "$REDIS_INGEST_PASSWORD")" "$keys" "$data"
  printf 'user worker on #%s %s &%s:* %s +publish +scan +dump +restore\n' \
    "$(sha "$REDIS_WORKER_PASSWORD")" "$keys" "$KABAR_PREFIX" "$data"
  printf 'user publish on #%s resetkeys ~%s:comments:pow:* ~%s:comments:soal:* &%s:purge -@all +@connection -@dangerous +subscribe +unsubscribe +set\n' \
    "$(sha "$REDIS_PUBLISH_PASSWORD")" "$KABAR_PREFIX" "$KABAR_PREFIX" "$KABAR_PREFIX"
} >"$acl"
unset REDIS_INGEST_PASSWORD REDIS_WORKER_PASSWORD REDIS_PUBLISH_PASSWORD value
# Arguments are passed on to Redis, after (so overriding) these.
exec redis-server --aclfile "$acl" --dir "${REDIS_DATA_DIR:-/data}" --appendonly yes --appendfsync everysec "$@"
