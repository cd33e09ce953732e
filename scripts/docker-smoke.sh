#!/bin/sh
# Smoke test of a built Licensor image against a real PostgreSQL:
#   scripts/docker-smoke.sh IMAGE DATABASE_URL [PORT]
# e.g. docker build -t licensor . &&
#      scripts/docker-smoke.sh licensor 'postgres://postgres@127.0.0.1:5432/licensor_smoke?sslmode=disable'
# The database should be empty (the first admin's login is checked). The
# container runs with --network host (so DATABASE_URL may name 127.0.0.1)
# and listens on 127.0.0.1:PORT (default 18089). It checks: the health check
# answers 200; the first admin's login is printed once, and not again after a
# restart; the process runs as the non-root uid and can write its data dir
# (instance.secret is generated there, no LICENSOR_INSTANCE_SECRET is given);
# pg_dump works inside; `licensor plugins list` lists the shipped plugins.
# Not run by CI (CI machines reach no container registry); see docs/deploy.md.
set -eu

image=${1:?usage: docker-smoke.sh IMAGE DATABASE_URL [PORT]}
dburl=${2:?usage: docker-smoke.sh IMAGE DATABASE_URL [PORT]}
port=${3:-18089}
name=licensor-smoke-$$
plugins="captcha-recaptcha import-xlsx orders-woocommerce orders-gumroad"

fail() { echo "FAIL: $*" >&2; docker logs "$name" >&2 2>&1 || true; exit 1; }
ok() { echo "ok: $*"; }
cleanup() { docker rm -f -v "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

# wait_healthy polls the health check for up to 60 s.
wait_healthy() {
	i=0
	while [ $i -lt 120 ]; do
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/health-check" || true)
		[ "$code" = 200 ] && return 0
		[ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || fail "container exited"
		sleep 0.5
		i=$((i + 1))
	done
	fail "/api/health-check did not answer 200 within 60 s (last: $code)"
}

docker run -d --name "$name" --network host \
	-e DATABASE_URL="$dburl" \
	-e LICENSOR_HTTP_ADDR="127.0.0.1:$port" \
	-e LICENSOR_BASE_URL="http://127.0.0.1:$port" \
	"$image" >/dev/null
wait_healthy
ok "/api/health-check answers 200"

n=$(docker logs "$name" 2>&1 | grep -c 'First admin created' || true)
[ "$n" = 1 ] || fail "first admin's login printed $n times on the first start (want 1; is the database empty?)"
docker logs "$name" 2>&1 | grep -q 'password: ' || fail "first admin's password not printed"
ok "first admin's login printed on the first start"

uid=$(docker exec "$name" id -u)
[ "$uid" != 0 ] || fail "container runs as root"
[ "$(docker exec "$name" id -un)" = licensor ] || fail "container user is not licensor"
ok "runs as non-root uid $uid (licensor)"

owner=$(docker exec "$name" stat -c %u /var/lib/licensor/instance.secret) ||
	fail "instance.secret was not written to the data dir"
[ "$owner" = "$uid" ] || fail "instance.secret owned by uid $owner, not $uid"
docker exec "$name" sh -c 'f=/var/lib/licensor/.smoke && echo x >"$f" && rm "$f"' ||
	fail "data dir /var/lib/licensor is not writable"
ok "data dir writable by the non-root user (instance.secret generated there)"

v=$(docker exec "$name" pg_dump --version) || fail "pg_dump does not run inside the image"
ok "$v"

list=$(docker exec "$name" /opt/licensor/licensor plugins list 2>&1) || fail "plugins list: $list"
echo "$list"
for p in $plugins; do
	echo "$list" | grep -q "^$p " || fail "plugin $p not listed"
done
if echo "$list" | grep -Eq 'checksum mismatch|invalid manifest|crashed'; then
	fail "a shipped plugin is broken"
fi
ok "plugins list shows the shipped plugins"

docker restart "$name" >/dev/null
wait_healthy
n=$(docker logs "$name" 2>&1 | grep -c 'First admin created' || true)
[ "$n" = 1 ] || fail "first admin's login printed again after a restart ($n times)"
ok "after a restart: healthy, first admin's login not printed again"

echo "PASS: $image"
