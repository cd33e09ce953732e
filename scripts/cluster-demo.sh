#!/usr/bin/env bash
# make cluster-demo: two Licensor nodes on one PostgreSQL behind nginx on
# this machine, for trying a multi-node deployment by hand (docs/deploy.md).
# The database is DATABASE_URL / LICENSOR_DATABASE_URL when set, else a
# database "licensor_cluster_demo" on the local test server. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/licensor}
LB_PORT=${LB_PORT:-8080}
NODE_PORTS=(${NODE_PORTS:-8081 8082})
DIR=var/cluster-demo
mkdir -p "$DIR/nginx/tmp"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
  echo "nginx is needed: apt-get install -y nginx-light"
  exit 1
fi
dsn=${LICENSOR_DATABASE_URL:-${DATABASE_URL:-}}
if [ -z "$dsn" ]; then
  scripts/ensure-test-postgres.sh
  psql -q -h 127.0.0.1 -U postgres -d postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'licensor_cluster_demo'" | grep -q 1 ||
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE licensor_cluster_demo"
  dsn="postgres://postgres@127.0.0.1:5432/licensor_cluster_demo?sslmode=disable"
fi
secret_file=$DIR/instance_secret
[ -s "$secret_file" ] || head -c 32 /dev/urandom | base64 > "$secret_file"
export LICENSOR_DATABASE_URL=$dsn
export LICENSOR_INSTANCE_SECRET=$(cat "$secret_file")
export LICENSOR_BASE_URL=http://127.0.0.1:$LB_PORT
export LICENSOR_HTTP_TRUSTED_PROXIES=127.0.0.1

"$BIN" migrate
if ! "$BIN" admin create --email admin@example.com --password "cluster demo admin" --name Admin >/dev/null 2>&1; then
  echo "(admin@example.com exists already)"
fi

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

upstreams=""
for i in "${!NODE_PORTS[@]}"; do
  port=${NODE_PORTS[$i]}
  upstreams+="    server 127.0.0.1:$port;"$'\n'
  LICENSOR_HTTP_ADDR=127.0.0.1:$port LICENSOR_DATA_DIR=$DIR/node$((i + 1)) "$BIN" serve &
  pids+=($!)
done
user=""
[ "$(id -u)" = 0 ] && user="user root;"
ndir=$(cd "$DIR/nginx" && pwd)
cat > "$ndir/nginx.conf" <<CONF
$user
worker_processes 1;
daemon off;
pid $ndir/nginx.pid;
error_log $ndir/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $ndir/tmp/body;
  proxy_temp_path $ndir/tmp/proxy;
  fastcgi_temp_path $ndir/tmp/fastcgi;
  uwsgi_temp_path $ndir/tmp/uwsgi;
  scgi_temp_path $ndir/tmp/scgi;
  client_max_body_size 2g;
  upstream licensor {
$upstreams    keepalive 16;
  }
  server {
    listen 127.0.0.1:$LB_PORT;
    location / {
      proxy_pass http://licensor;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      add_header X-Upstream \$upstream_addr always;
    }
  }
}
CONF
"$NGINX" -p "$ndir" -c "$ndir/nginx.conf" -e "$ndir/error.log" &
pids+=($!)
echo
echo "Two nodes (ports ${NODE_PORTS[*]}) behind nginx at $LICENSOR_BASE_URL"
echo "Console: $LICENSOR_BASE_URL/admin  (admin@example.com / cluster demo admin)"
echo "Each response's X-Upstream header names the node that answered. Ctrl-C stops everything."
wait
