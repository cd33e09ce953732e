#!/usr/bin/env bash
# Makes sure the PostgreSQL server the tests use answers. With
# LICENSOR_TEST_DATABASE_URL set, that server is the caller's business.
set -euo pipefail
if [ -n "${LICENSOR_TEST_DATABASE_URL:-}" ]; then
  exit 0
fi
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
# make test runs the cluster tests' nodes beside the other packages, each
# test with a database and pool of its own: Debian's default of 100
# connections runs out under load ("too many clients already"). On a Debian
# cluster we administer, raise it once (a restart; only before the tests).
enough_connections() {
  [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null || return 0
  local n
  n=$(psql -h 127.0.0.1 -U postgres -Atc 'SHOW max_connections' 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 300 ] && return 0
  psql -h 127.0.0.1 -U postgres -qc 'ALTER SYSTEM SET max_connections = 300' || return 0
  local cluster
  cluster=$(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 && $4 == "online" {print $1 " " $2; exit}')
  [ -n "$cluster" ] || return 0
  echo "Raising the test PostgreSQL's max_connections from $n to 300 (restart)"
  # shellcheck disable=SC2086
  pg_ctlcluster --skip-systemctl-redirect $cluster restart
  for _ in $(seq 1 30); do
    ready && return 0
    sleep 1
  done
}
# Every test drops its database when it ends, and PostgreSQL checkpoints at
# every DROP DATABASE: with fsync on, each checkpoint waits for the disk to
# sync the hundreds of files the tests' new databases wrote (0.5-2.5 s, one
# after another), and the tests wait for it. A test server's data is thrown
# away, so on a Debian cluster we administer turn fsync off (a reload, no
# restart); commits already do not wait for the disk (dbtest sets
# synchronous_commit off per database). Only what a crash of the machine
# itself would lose is at stake: the test databases.
no_fsync() {
  [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null || return 0
  [ "$(psql -h 127.0.0.1 -U postgres -Atc 'SHOW fsync' 2>/dev/null)" = on ] || return 0
  echo "Turning the test PostgreSQL's fsync off (its databases are thrown away)"
  psql -h 127.0.0.1 -U postgres -qc 'ALTER SYSTEM SET fsync = off' -c 'SELECT pg_reload_conf()' >/dev/null || true
}
# Each test creates a database of its own (hundreds of files) and drops it
# when it ends; on ext4 creating those files (the inode bitmap searched
# past the inodes just freed) is waited for: one package's tests ran 15-35%
# faster on a tmpfs. On a Debian cluster we administer, make a tablespace on a tmpfs for
# them (app/db/dbtest's ScratchTablespace; the templates stay on disk), or
# after a reboot, which empties the tmpfs, its directories again (the
# databases that were in it were the tests', gone with it).
scratch_tablespace() {
  [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null && [ -d /dev/shm ] || return 0
  local q="psql -h 127.0.0.1 -U postgres -Atc" owner loc sub
  owner=$(stat -c %U "$($q 'SHOW data_directory')") || return 0
  loc=$($q "SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'licensor_test'") || return 0
  if [ -z "$loc" ]; then
    loc=/dev/shm/licensor-test-tablespace
    install -d -o "$owner" -g "$owner" -m 700 "$loc" || return 0
    $q "CREATE TABLESPACE licensor_test LOCATION '$loc'" >/dev/null || true
    return 0
  fi
  sub=$($q "SELECT 'PG_' || current_setting('server_version_num')::int / 10000 || '_' || catalog_version_no FROM pg_control_system()") || return 0
  install -d -o "$owner" -g "$owner" -m 700 "$loc" "$loc/$sub" || true
}
if command -v pg_isready >/dev/null && ready; then
  enough_connections
  no_fsync
  scratch_tablespace
  exit 0
fi
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing PostgreSQL for the tests (apt-get install -y postgresql)..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "The tests need PostgreSQL on 127.0.0.1:5432 (trust auth for user postgres)."
    echo "Install it with: sudo apt-get install -y postgresql"
    echo "or point LICENSOR_TEST_DATABASE_URL at a server you have."
    exit 1
  fi
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
conf=/etc/postgresql/$version/main
# The tests connect as postgres over TCP without a password (trust), as on
# this project's machines; a fresh Debian install asks for one, so allow
# loopback trust when that line is missing.
if [ "$(id -u)" = 0 ] && ! grep -Eq '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$conf/pg_hba.conf"; then
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$conf/pg_hba.conf"
fi
# After a crash PostgreSQL replays what the tests wrote into the tmpfs
# tablespace; after a reboot as well, its directory is gone and the
# replay cannot follow the tablespace's link: make it before the start.
if [ "$(id -u)" = 0 ]; then
  data=$(pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "main" {print $6}' || true)
  for link in "${data:-/nonexistent}"/pg_tblspc/*; do
    [ "$(readlink "$link" 2>/dev/null)" = /dev/shm/licensor-test-tablespace ] || continue
    install -d -o "$(stat -c %U "$data")" -g "$(stat -c %G "$data")" -m 700 /dev/shm/licensor-test-tablespace || true
  done
fi
if [ "$(id -u)" = 0 ]; then
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
else
  pg_ctlcluster "$version" main start || true
fi
for _ in $(seq 1 30); do
  ready && { enough_connections; no_fsync; scratch_tablespace; exit 0; }
  sleep 1
done
echo "PostgreSQL did not come up on 127.0.0.1:5432"
exit 1
