#!/usr/bin/env bash
# Start-up time and idle footprint of the kit on the JVM (results and reading: bench/STARTUP.md).
#
# Builds the kit twice (the default fast-jar, and the aot-jar packaging with the JDK 25 AOT cache that Quarkus trains
# during the build), then starts each variant RUNS times on a free loopback port and reports medians of
#   ready   ms from launching `java -jar quarkus-run.jar` to the first 200 from /q/health/ready (polled every 10 ms),
#   cpu     CPU time (user + system, all threads) the JVM used until then: unlike the wall time, hardly affected by
#           other processes competing for the cores,
#   started the "started in X s" Quarkus logs (inside the JVM, without JVM boot),
#   rss     VmRSS after IDLE_SECONDS idle, split into anonymous memory and file-backed pages (the AOT cache is mapped
#           from a file: its pages count in RSS but are clean and shareable).
#
# Usage: bench/startup.sh            (RUNS=5 IDLE_SECONDS=10 by default; MVN_ARGS=-o to build offline;
#                                     SKIP_BUILD=1 reuses the builds of the previous run in $OUT)
set -euo pipefail
cd "$(dirname "$0")/.."

export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA=$JAVA_HOME/bin/java
RUNS=${RUNS:-5}
IDLE_SECONDS=${IDLE_SECONDS:-10}
MVN_ARGS=${MVN_ARGS:-}
OUT=${OUT:-target/startup-bench}
# What a pod with the 384 MiB memory limit of deployment/ gets: -XX:MaxRAM stands in for the cgroup limit that the
# JVM reads by itself inside a container.
CONTAINER_FLAGS=${CONTAINER_FLAGS:-"-XX:MaxRAM=384m -XX:+UseSerialGC -XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError"}

mkdir -p "$OUT"
if [[ -z "${SKIP_BUILD:-}" ]]; then
  echo "building the aot-jar with its AOT cache ..." >&2
  ./mvnw -B -q $MVN_ARGS package -DskipTests -Dquarkus.package.jar.aot.enabled=true -Dquarkus.package.jar.aot.phase=build >&2
  rm -rf "$OUT/aot" && cp -a target/quarkus-app "$OUT/aot"   # -a: the cache checks the jars' timestamps
  echo "building the default fast-jar ..." >&2
  ./mvnw -B -q $MVN_ARGS package -DskipTests >&2
  rm -rf "$OUT/plain" && cp -a target/quarkus-app "$OUT/plain"
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

median() {
  sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

cpu_ms() { # user + system CPU time of process PID (all its threads) so far, in ms
  local stat
  stat=$(cat "/proc/$1/stat")
  stat=${stat##*) } # after "(comm) ": field 3 (state) onwards; utime and stime are fields 14 and 15
  # shellcheck disable=SC2086
  set -- $stat
  echo $(((${12} + ${13}) * 1000 / $(getconf CLK_TCK)))
}

status_kib() { # field of /proc/PID/status, in KiB
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

CURRENT=
trap '[[ -n "$CURRENT" ]] && kill "$CURRENT" 2>/dev/null; true' EXIT

# run_once LABEL DIR JAVA_ARGS...: one start; appends "ready_ms started_s rss_kib anon_kib file_kib load1 cpu_ms"
# to LABEL.tsv
run_once() {
  local label=$1 dir=$2
  shift 2
  local port log t0 t1 n
  port=$(free_port)
  n=$(($(wc -l <"$OUT/$label.tsv") + 1))
  log="$OUT/$label.$n.log"
  t0=$(date +%s%N)
  (cd "$dir" && exec "$JAVA" "$@" -Dquarkus.http.port="$port" -jar quarkus-run.jar) >"$log" 2>&1 &
  CURRENT=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/q/health/ready"; do
    kill -0 "$CURRENT" 2>/dev/null || { echo "$label: the kit exited, see $log" >&2; exit 1; }
    (($(date +%s%N) - t0 < 60000000000)) || { echo "$label: not ready after 60 s, see $log" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s%N)
  local cpu rss anon file load
  cpu=$(cpu_ms "$CURRENT")
  sleep "$IDLE_SECONDS"
  rss=$(status_kib "$CURRENT" VmRSS)
  anon=$(status_kib "$CURRENT" RssAnon)
  file=$(status_kib "$CURRENT" RssFile)
  load=$(cut -d' ' -f1 /proc/loadavg)
  kill -TERM "$CURRENT"
  wait "$CURRENT" || true
  CURRENT=
  if grep -q '\[error *\]\[aot\]' "$log"; then
    echo "$label: the JVM rejected the AOT cache, see $log" >&2
  fi
  echo "$(((t1 - t0) / 1000000)) $(sed -n 's/.* started in \([0-9.]*\)s\..*/\1/p' "$log" | head -1) $rss $anon $file $load $cpu" \
    >>"$OUT/$label.tsv"
}

# label|build|JVM flags
VARIANTS=(
  "fast-jar|plain|"
  "fast-jar+container-flags|plain|$CONTAINER_FLAGS"
  "aot-jar-without-cache|aot|"
  "aot-jar+AOT-cache|aot|-XX:AOTCache=app.aot"
  "aot-jar+AOT-cache+container-flags|aot|-XX:AOTCache=app.aot $CONTAINER_FLAGS"
)

for v in "${VARIANTS[@]}"; do
  : >"$OUT/${v%%|*}.tsv"
done
# Rounds rather than one variant after the other: on a shared machine the load drifts, and each variant should see
# the same drift.
for ((round = 1; round <= RUNS; round++)); do
  for v in "${VARIANTS[@]}"; do
    IFS='|' read -r label build flags <<<"$v"
    echo "round $round: $label" >&2
    # shellcheck disable=SC2086 # flags are words
    run_once "$label" "$OUT/$build" $flags
  done
done

mib() { # KiB -> MiB, rounded
  awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'
}

column_median() { # FILE COLUMN
  awk -v c="$2" '{ print $c }' "$1" | median
}

echo "# $(date -u +%FT%TZ), $("$JAVA" -version 2>&1 | head -1), $(nproc) cores, RUNS=$RUNS, idle ${IDLE_SECONDS}s"
echo
echo "| variant | ready ms | CPU ms to ready | Quarkus \"started in\" s | idle RSS MiB | of which anon MiB | of which file MiB | load (1 min) |"
echo "|---|---|---|---|---|---|---|---|"
for v in "${VARIANTS[@]}"; do
  label=${v%%|*}
  f="$OUT/$label.tsv"
  printf '| %s | %.0f | %.0f | %s | %s | %s | %s | %s |\n' "$label" "$(column_median "$f" 1)" "$(column_median "$f" 7)" \
    "$(column_median "$f" 2)" \
    "$(mib "$(column_median "$f" 3)")" "$(mib "$(column_median "$f" 4)")" "$(mib "$(column_median "$f" 5)")" \
    "$(column_median "$f" 6)"
done
echo
echo "Medians of $RUNS runs. Raw runs (ready ms, started s, RSS/anon/file KiB, load, CPU ms): $OUT/*.tsv"
