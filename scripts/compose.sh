#!/usr/bin/env bash
# Runs the real Docker Compose v2 (built from the Go module proxy, cached under .local/bin) without an
# engine: enough for `config`, which validates docker-compose.yml exactly as operators' Compose will.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${KABAR_COMPOSE_VERSION:-v2.40.3}"
BIN="$ROOT/.local/bin/docker-compose-$VERSION"
if [ ! -x "$BIN" ]; then
  echo "[compose] building docker compose $VERSION (a few minutes, once)" >&2
  dir=$(go mod download -json "github.com/docker/compose/v2@$VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  work=$(mktemp -d)
  cp -r "$dir/." "$work/" && chmod -R u+w "$work"
  (cd "$work" && go build -o "$BIN.tmp" ./cmd) && mv "$BIN.tmp" "$BIN"
  rm -rf "$work"
fi
cd "$ROOT"
env_file=.env
[ -f "$env_file" ] || env_file=.env.example
exec "$BIN" --project-directory "$ROOT" --env-file "$env_file" -f docker-compose.yml "$@"
