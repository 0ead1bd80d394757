#!/bin/sh
# The cluster is at least yellow. curl reads the credentials from its standard input (-K -), so the
# password is never a command-line argument (printf is a shell builtin).
set -eu
printf 'user = "elastic:%s"\n' "$ELASTIC_PASSWORD" \
  | curl -sf -K - 'http://localhost:9200/_cluster/health?wait_for_status=yellow&timeout=5s' \
  | grep -qE '"status":"(green|yellow)"'
