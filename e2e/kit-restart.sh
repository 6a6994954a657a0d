#!/usr/bin/env bash
# End to end: the kit's graceful stop and a driver that outlives it. A real kit, a real driver process and a real
# web server on 127.0.0.1. SIGTERM the kit during a slow download: readiness turns DOWN, the driver hears
# GOAWAY(SHUTDOWN), the download still completes within the drain; then a new kit starts on the same port and the
# driver reconnects and re-binds by itself. Usage: e2e/kit-restart.sh (from the repository root).
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA="$JAVA_HOME/bin/java"
JAR=target/quarkus-app/quarkus-run.jar
WORK=$(mktemp -d /tmp/hoody-e2e-restart.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
[ -f "$JAR" ] || ./mvnw -B -q package -DskipTests

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_for() { local until=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $until ] || { echo "timed out: $*" >&2; return 1; }; sleep 0.2; done; }
fail() { echo "FAIL: $*" >&2; echo "--- kit"; cat "$WORK"/kit*.log >&2; echo "--- driver"; cat "$WORK/driver.log" >&2; exit 1; }
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }

KIT_PORT=$(free_port); WEB_PORT=$(free_port); EXPOSED=$(free_port)
ADMIN_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n') # the admin API needs it (README "Security")
start_kit() { # start_kit LOGNAME
  HOODY_TUNNEL_ADMIN_TOKEN=$ADMIN_TOKEN HOODY_TUNNEL_SHUTDOWN_DRAIN=8s QUARKUS_HTTP_PORT=$KIT_PORT "$JAVA" -Xmx256m -jar "$JAR" >"$WORK/$1" 2>&1 &
  KIT_PID=$!; PIDS+=($KIT_PID)
  wait_for 30 curl -sf "http://127.0.0.1:$KIT_PORT/q/health/ready"
}
mkdir -p "$WORK/www" && head -c 60000000 /dev/urandom >"$WORK/www/blob.bin" && echo "laptop page" >"$WORK/www/index.html"
python3 -m http.server "$WEB_PORT" --bind 127.0.0.1 --directory "$WORK/www" >/dev/null 2>&1 &
PIDS+=($!)
start_kit kit1.log
"$JAVA" -jar "$JAR" expose "$WEB_PORT" --port "$EXPOSED" --kit "http://127.0.0.1:$KIT_PORT" --json >"$WORK/driver.log" 2>&1 &
DRIVER=$!; PIDS+=($DRIVER)
wait_for 20 grep -q '"event":"bind_ok"' "$WORK/driver.log"
[ "$(curl -sf "http://127.0.0.1:$EXPOSED/")" = "laptop page" ] || fail "page through the first kit"

# A slow download (about 3 s at 20 MB/s) is in flight when the kit is told to stop.
curl -sf --limit-rate 20M -o "$WORK/got.bin" "http://127.0.0.1:$EXPOSED/blob.bin" &
DL=$!
sleep 1
kill -TERM "$KIT_PID"
sleep 0.5
READY=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$KIT_PORT/q/health/ready" || true)
[ "$READY" = "503" ] || fail "readiness during the drain answered $READY, not 503"
ok "readiness is DOWN (503) as soon as the drain starts"
wait "$DL" || fail "the in-flight download failed during the drain"
cmp -s "$WORK/got.bin" "$WORK/www/blob.bin" || fail "the in-flight download is not byte-exact"
ok "a 60 MB download in flight at SIGTERM completed byte-exact within the drain"
wait "$KIT_PID" 2>/dev/null || true
grep -q '"event":"goaway","code":"SHUTDOWN"' "$WORK/driver.log" || fail "the driver did not hear GOAWAY(SHUTDOWN)"
ok "the driver heard GOAWAY(SHUTDOWN)"

start_kit kit2.log
wait_for 30 sh -c "[ \$(grep -c '\"event\":\"bind_ok\"' '$WORK/driver.log') -ge 2 ]" || fail "the driver did not re-bind on the new kit"
[ "$(curl -sf "http://127.0.0.1:$EXPOSED/")" = "laptop page" ] || fail "page through the restarted kit"
grep -q '"event":"reconnecting"' "$WORK/driver.log" || fail "no reconnecting event"
ok "the driver reconnected to the restarted kit by itself and serves again ($(grep -c '"event":"reconnecting"' "$WORK/driver.log") reconnect attempts)"

kill -TERM "$DRIVER"; wait "$DRIVER" 2>/dev/null || true
wait_for 5 sh -c "curl -sf -H 'Authorization: Bearer $ADMIN_TOKEN' http://127.0.0.1:$KIT_PORT/api/v1/tunnel/bindings | grep -q '\"bindings\":\[\]'" || fail "bindings left after the driver stopped"
ok "a driver stopped with SIGTERM leaves no binding behind"
echo "$passed passed, 0 failed"
