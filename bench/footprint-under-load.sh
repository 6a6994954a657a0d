#!/usr/bin/env bash
# Peak RSS of a JVM kit under traffic, to size the memory limit in deployment/ (results: bench/STARTUP.md).
#
# Starts a kit with the given JVM flags, a driver that EXPOSEs a local web server (python3 -m http.server), then for
# 20 s sends HTTP requests through the kit (hey, 50 concurrent) while 8 clients each download 50 MB through it, and
# samples the kit's RSS every 0.5 s. Prints idle, peak and after-load RSS and the JVM's native memory summary.
#
# Usage: bench/footprint-under-load.sh [APP_DIR] [JVM FLAGS]
#   APP_DIR   a quarkus-app directory (default target/quarkus-app; bench/startup.sh leaves the aot-jar with its cache
#             in target/startup-bench/aot)
#   JVM FLAGS default: what the JVM image and deployment/kit.yaml give a 384 MiB pod
# e.g. bench/footprint-under-load.sh target/startup-bench/aot "-XX:AOTCache=app.aot -XX:MaxRAM=384m -XX:+UseSerialGC -XX:MaxRAMPercentage=50"
set -euo pipefail
cd "$(dirname "$0")/.."

export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA=$JAVA_HOME/bin/java
APP=$(realpath "${1:-target/quarkus-app}")
FLAGS=${2:-"-XX:MaxRAM=384m -XX:+UseSerialGC -XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError"}
command -v hey >/dev/null || { echo "needs hey (apt-get install -y hey)" >&2; exit 2; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
rss_kib() {
  awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"
}

mkdir -p "$WORK/site"
echo hello >"$WORK/site/index.html"
head -c 50000000 /dev/urandom >"$WORK/site/big.bin"
KIT_PORT=$(free_port)
WEB_PORT=$(free_port)
EXPOSE_PORT=$(free_port)

python3 -m http.server "$WEB_PORT" --bind 127.0.0.1 --directory "$WORK/site" >/dev/null 2>&1 &
PIDS+=($!)
# shellcheck disable=SC2086 # flags are words
(cd "$APP" && exec "$JAVA" $FLAGS -XX:NativeMemoryTracking=summary -Dquarkus.http.port="$KIT_PORT" -jar quarkus-run.jar) \
  >"$WORK/kit.log" 2>&1 &
KIT=$!
PIDS+=("$KIT")
until curl -sf -o /dev/null "http://127.0.0.1:$KIT_PORT/q/health/ready"; do sleep 0.1; done
"$JAVA" -jar "$APP/quarkus-run.jar" expose "127.0.0.1:$WEB_PORT" --port "$EXPOSE_PORT" --kit "http://127.0.0.1:$KIT_PORT" \
  >"$WORK/driver.log" 2>&1 &
PIDS+=($!)
until curl -sf -o /dev/null "http://127.0.0.1:$EXPOSE_PORT/"; do sleep 0.2; done

echo "flags: $FLAGS"
echo "idle, after the first request: $(($(rss_kib "$KIT") / 1024)) MiB"
hey -z 20s -c 50 "http://127.0.0.1:$EXPOSE_PORT/index.html" >"$WORK/hey.txt" 2>&1 &
LOAD=($!)
for _ in 1 2 3 4 5 6 7 8; do
  curl -s -o /dev/null "http://127.0.0.1:$EXPOSE_PORT/big.bin" &
  LOAD+=($!)
done
peak=0
while kill -0 "${LOAD[0]}" 2>/dev/null; do
  r=$(rss_kib "$KIT")
  ((r > peak)) && peak=$r
  sleep 0.5
done
wait "${LOAD[@]}"
r=$(rss_kib "$KIT")
((r > peak)) && peak=$r
echo "peak under load: $((peak / 1024)) MiB (VmHWM $(awk '$1 == "VmHWM:" { print int($2 / 1024) }' "/proc/$KIT/status") MiB)"
grep -E 'Requests/sec|^ *\[[0-9]{3}\]' "$WORK/hey.txt" | sed 's/^ */  hey: /'
sleep 5
echo "5 s after the load: $(($(rss_kib "$KIT") / 1024)) MiB"
"$JAVA_HOME/bin/jcmd" "$KIT" VM.native_memory summary scale=MB | grep -E '^Total|^- +(Java Heap|Class|Thread|Code|GC|Other|Metaspace|Shared class space) '
