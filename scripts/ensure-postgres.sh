#!/usr/bin/env bash
# Run by `make run` before Licensor starts. With no database URL configured,
# Licensor runs its own PostgreSQL cluster from the machine's binaries
# (initdb, pg_ctl, postgres): make sure they are installed.
set -euo pipefail

config=${LICENSOR_CONFIG:-config.yaml}

# A non-empty url: under the top-level database: key of the config file.
config_has_url() {
  [ -f "$config" ] || return 1
  awk '
    /^[^[:space:]#]/ { in_db = ($0 ~ /^database:/) }
    in_db && /^[[:space:]]+url:/ {
      v = $0
      sub(/^[[:space:]]+url:[[:space:]]*/, "", v)
      sub(/[[:space:]]+#.*$/, "", v)
      gsub(/^["'\'']|["'\'']$/, "", v)
      if (v != "") found = 1
    }
    END { exit found ? 0 : 1 }
  ' "$config"
}

if [ -n "${LICENSOR_DATABASE_URL:-}" ] || [ -n "${DATABASE_URL:-}" ] || config_has_url; then
  exit 0 # an existing server is configured
fi

have_initdb() {
  if [ -n "${LICENSOR_DATABASE_POSTGRES_BIN:-}" ] && [ -x "$LICENSOR_DATABASE_POSTGRES_BIN/initdb" ]; then
    return 0
  fi
  command -v initdb >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

have_initdb && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "PostgreSQL is not installed; installing it (apt-get install -y postgresql)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update && apt-get install -y postgresql
  have_initdb && exit 0
  echo "apt-get installed postgresql but initdb is still missing" >&2
  exit 1
fi

{
  echo "PostgreSQL is not installed. Install it with: sudo apt-get install -y postgresql"
  echo "or set LICENSOR_DATABASE_URL to use an existing PostgreSQL server."
} >&2
exit 1
