#!/usr/bin/env bash
# End to end with real servers from Debian: Redis and PostgreSQL run on the "laptop" side, a real kit and a real
# driver (`pull`) put them on the container's loopback, and their own clients (redis-cli, psql) talk through it.
# Also exposes nginx with `expose` and fetches a page through the kit. Everything on 127.0.0.1; cleans up after itself.
# Usage: e2e/pull-real-services.sh   (from the repository root; builds the jar if it is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA="$JAVA_HOME/bin/java"
JAR=target/quarkus-app/quarkus-run.jar
WORK=$(mktemp -d /tmp/hoody-e2e.XXXXXX)
chmod 755 "$WORK"
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${PGBIN:-}" ] && su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $WORK/pg -m immediate stop" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need redis-server || ! need redis-cli || ! need curl || ! need nginx || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools postgresql nginx-light curl >/dev/null
fi
[ -f "$JAR" ] || ./mvnw -B -q package -DskipTests

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_for() { # wait_for SECONDS COMMAND...
  local until=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $until ] || { echo "timed out waiting for: $*" >&2; return 1; }
    sleep 0.2
  done
}
fail() { echo "FAIL: $*" >&2; exit 1; }
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }

# --- the kit ---
KIT_PORT=$(free_port)
ADMIN_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n') # the admin API needs it (README "Security")
HOODY_TUNNEL_ADMIN_TOKEN=$ADMIN_TOKEN QUARKUS_HTTP_PORT=$KIT_PORT "$JAVA" -Xmx256m -jar "$JAR" >"$WORK/kit.log" 2>&1 &
PIDS+=($!)
wait_for 30 curl -sf "http://127.0.0.1:$KIT_PORT/q/health/ready"
KIT="http://127.0.0.1:$KIT_PORT"

# Not called as $(start_driver …): in a subshell the driver's PID would not reach PIDS and the driver would outlive us.
start_driver() { # start_driver NAME ARGS... ; waits for bind_ok and sets BOUND_PORT
  local name=$1; shift
  "$JAVA" -jar "$JAR" "$@" --kit "$KIT" --json >"$WORK/$name.log" 2>"$WORK/$name.err" &
  PIDS+=($!)
  wait_for 20 grep -q '"event":"bind_ok"' "$WORK/$name.log" || { cat "$WORK/$name.log" "$WORK/$name.err" >&2; return 1; }
  BOUND_PORT=$(grep '"event":"bind_ok"' "$WORK/$name.log" | head -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["port"])')
}

# --- Redis ---
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_for 10 redis-cli -p "$REDIS_PORT" PING
start_driver redis-driver pull "$REDIS_PORT" --port 0
PULLED_REDIS=$BOUND_PORT
[ "$(redis-cli -p "$PULLED_REDIS" PING)" = "PONG" ] || fail "redis PING through the pull port"
redis-cli -p "$PULLED_REDIS" SET hoody:greeting "hello through the tunnel" >/dev/null
[ "$(redis-cli -p "$REDIS_PORT" GET hoody:greeting)" = "hello through the tunnel" ] || fail "redis SET did not reach the laptop's server"
head -c 3000000 /dev/urandom | base64 -w0 >"$WORK/big.txt"
redis-cli -p "$PULLED_REDIS" -x SET hoody:big <"$WORK/big.txt" >/dev/null
redis-cli -p "$PULLED_REDIS" GET hoody:big >"$WORK/big.back"
cmp -s <(tr -d '\n' <"$WORK/big.back") "$WORK/big.txt" || fail "a 4 MB value did not come back byte-exact"
redis-benchmark -p "$PULLED_REDIS" -n 5000 -c 20 -t set,get -q >"$WORK/redis-bench.txt" 2>&1 || fail "redis-benchmark through the tunnel"
ok "Redis through PULL: PING, SET/GET, 4 MB value byte-exact, redis-benchmark: $(tr '\r' '\n' <"$WORK/redis-bench.txt" | grep -E '^(SET|GET): [0-9]' | tr '\n' ' ')"

# --- PostgreSQL ---
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PG_PORT=$(free_port)
mkdir -p "$WORK/pg" "$WORK/pg-run" && chown postgres "$WORK/pg" "$WORK/pg-run"
su postgres -s /bin/sh -c "$PGBIN/initdb -D $WORK/pg --auth=trust -U postgres" >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log"; fail "initdb"; }
su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $WORK/pg -o '-p $PG_PORT -k $WORK/pg-run -c listen_addresses=127.0.0.1' -l $WORK/pg-run/pg.log -w start" >/dev/null
start_driver pg-driver pull "127.0.0.1:$PG_PORT" --port 0
PULLED_PG=$BOUND_PORT
ANSWER=$(psql -h 127.0.0.1 -p "$PULLED_PG" -U postgres -Atc "select 6 * 7")
[ "$ANSWER" = "42" ] || fail "psql through the pull port answered '$ANSWER'"
psql -h 127.0.0.1 -p "$PULLED_PG" -U postgres -q -c "create table t(id int, v text); insert into t select g, md5(g::text) from generate_series(1, 100000) g" \
  || fail "psql bulk insert through the tunnel"
COUNT=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atc "select count(*), sum(length(v)) from t")
[ "$COUNT" = "100000|3200000" ] || fail "rows seen on the laptop side: $COUNT"
ok "PostgreSQL through PULL: query, 100,000-row insert seen on the laptop's server"

# --- nginx through EXPOSE ---
NGINX_PORT=$(free_port)
mkdir -p "$WORK/www" && echo "served by nginx on the laptop" >"$WORK/www/index.html"
head -c 50000000 /dev/urandom >"$WORK/www/blob.bin"
cat >"$WORK/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log $WORK/nginx-error.log; pid $WORK/nginx.pid;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $WORK; proxy_temp_path $WORK; fastcgi_temp_path $WORK; uwsgi_temp_path $WORK; scgi_temp_path $WORK;
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/www; } }
CONF
nginx -c "$WORK/nginx.conf" &
PIDS+=($!)
wait_for 10 curl -sf "http://127.0.0.1:$NGINX_PORT/"
EXPOSED=$(free_port)
start_driver nginx-driver expose "$NGINX_PORT" --port "$EXPOSED" >/dev/null
[ "$(curl -sf "http://127.0.0.1:$EXPOSED/")" = "served by nginx on the laptop" ] || fail "nginx page through EXPOSE"
[ "$(curl -sf "http://127.0.0.1:$EXPOSED/blob.bin" | sha256sum)" = "$(sha256sum <"$WORK/www/blob.bin")" ] || fail "50 MB download not byte-exact"
ok "nginx through EXPOSE: page and a 50 MB file byte-exact"

# --- the kit saw it all, and cleans up when the drivers stop ---
curl -sf -H "Authorization: Bearer $ADMIN_TOKEN" "$KIT/api/v1/tunnel/bindings" >"$WORK/bindings.json" 2>/dev/null && ok "admin API lists $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["bindings"]))' "$WORK/bindings.json") bindings"
echo "$passed passed, 0 failed"
