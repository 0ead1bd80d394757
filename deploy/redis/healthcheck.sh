#!/bin/sh
# Redis answers an authenticated PING (as `publish`, the least privileged user). The password reaches
# redis-cli through its environment (REDISCLI_AUTH), never its command line.
set -eu
REDISCLI_AUTH="$REDIS_PUBLISH_PASSWORD" redis-cli --no-auth-warning -p "${REDIS_PORT:-6379}" --user publish ping | grep -q PONG
