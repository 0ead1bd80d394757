#!/usr/bin/env bash
# Installs everything Kabar needs on a fresh Debian machine: system packages (PostgreSQL 15 among them, and
# MariaDB, PHP and WordPress for the WordPress bridge's tests unless KABAR_WORDPRESS=off), Python deps,
# Elasticsearch.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

need=()
command -v redis-server >/dev/null || need+=(redis-server)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
[ -f /usr/share/hunspell/id_ID.dic ] || need+=(hunspell-id)
command -v unzip >/dev/null || need+=(unzip)
command -v mvn >/dev/null || need+=(maven)
command -v curl >/dev/null || need+=(curl)
# The edge cache in front of publish (deploy/varnish/kabar.vcl): Varnish 7.1 and xkey from varnish-modules.
command -v varnishd >/dev/null || need+=(varnish)
ls /usr/lib/*/varnish/vmods/libvmod_xkey.so >/dev/null 2>&1 || need+=(varnish-modules)
# PostgreSQL 15 (reader comments); scripts/services.sh runs Kabar's own cluster as kabar-pg.
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
# A real WordPress for the WordPress bridge's tests (Debian's 6.1 with MariaDB 10.11 and PHP 8.2); scripts/services.sh
# runs them as kabar-mariadb and kabar-wp. php-gd makes the image sizes; the wordpress package pulls apache2,
# which never runs (the PHP built-in server serves a private copy of the site).
if [ "${KABAR_WORDPRESS:-on}" != off ]; then
  for pkg in mariadb-server wordpress php-cli php-mysql php-curl php-xml php-mbstring php-gd; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || need+=("$pkg")
  done
fi
# LightGBM (the related-link reranker) links OpenMP.
ldconfig -p | grep "libgomp.so.1" >/dev/null || need+=(libgomp1)
if [ "${KABAR_SKIP_BROWSER:-0}" != 1 ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "[setup] apt-get install ${need[*]}"
  # Debian's postgresql postinst creates and starts a system-wide "main" cluster on 5432 unless
  # createcluster.conf turns it off (read by pg_conftool; ucf keeps an existing file on install).
  cc=/etc/postgresql-common/createcluster.conf
  mkdir -p "${cc%/*}"
  if grep -qE '^[#[:space:]]*create_main_cluster[[:space:]]*=' "$cc" 2>/dev/null; then
    sed -i -E 's/^[#[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' "$cc"
  else
    echo 'create_main_cluster = false' >>"$cc"
  fi
  # Debian's postinsts start mariadb and apache2 through invoke-rc.d; a policy-rc.d that answers 101 keeps
  # every daemon of this install from starting (a policy the machine already has is left as it is).
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# scripts/setup.sh: no daemon starts during its apt-get install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [ -n "$policy" ]; then rm -f "$policy"; trap - EXIT; fi
  # Neither system-wide MariaDB nor Apache is left running or enabled at boot.
  for unit in mariadb apache2 apache-htcacheclean; do
    [ -e "/etc/init.d/$unit" ] || continue
    if [ -d /run/systemd/system ]; then
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    else
      update-rc.d "$unit" disable >/dev/null 2>&1 || true
    fi
  done
  # One started anyway (where the machine's own policy lets daemons start) is stopped, if its pid file names it.
  for started in /run/mysqld/mysqld.pid:mariadbd /run/apache2/apache2.pid:apache2; do
    pid=$(head -c 16 "${started%%:*}" 2>/dev/null | tr -dc '0-9') || true
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${started#*:}" ]; then kill "$pid" 2>/dev/null || true; fi
  done
  # Debian's postinst may start system-wide daemons; Kabar runs its own under .local instead.
  pkill -u rabbitmq -f beam.smp 2>/dev/null || true
  if [ -f /var/run/redis/redis-server.pid ]; then kill "$(cat /var/run/redis/redis-server.pid)" 2>/dev/null || true; fi
  if [ -f /run/varnishd.pid ]; then kill "$(cat /run/varnishd.pid)" 2>/dev/null || true; fi
  # A system cluster that exists anyway (from an earlier install) is stopped, never dropped.
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1, $2}' | while read -r version cluster; do
      pg_ctlcluster "$version" "$cluster" stop 2>/dev/null || true
    done
  fi
fi

if [ ! -f .local/.pip-stamp ] || [ pyproject.toml -nt .local/.pip-stamp ]; then
  echo "[setup] pip install -e .[dev]"
  python3 -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "Running pip as the 'root'" || true
  mkdir -p .local && touch .local/.pip-stamp
fi
scripts/services.sh install

# Open-loop bench driver (bench/openloop.py): vegeta from the Go module proxy, built once into .local/bin.
# Only the benches use it, and they fall back to a Python driver without it: a failed build never fails setup.
VEGETA_VERSION="${KABAR_VEGETA_VERSION:-v12.13.0}"
GO_BIN="$(command -v go || echo /usr/local/go/bin/go)"
if [ ! -x ".local/bin/vegeta-$VEGETA_VERSION" ] && [ "${KABAR_SKIP_VEGETA:-0}" != 1 ] && [ -x "$GO_BIN" ]; then
  echo "[setup] building vegeta $VEGETA_VERSION (bench driver, about a minute, once)"
  gobin=$(mktemp -d)
  if GOBIN="$gobin" "$GO_BIN" install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION" >/dev/null 2>&1; then
    mkdir -p .local/bin && mv "$gobin/vegeta" ".local/bin/vegeta-$VEGETA_VERSION"
  else
    echo "[setup] vegeta not built: the open-loop benches use their Python driver"
  fi
  rm -rf "$gobin"
fi
