#!/usr/bin/env bash
# bench/faults/run.sh — the fault harness (see bench/README.md, "Faults and soak").
#
# A kit, an EXPOSE driver in front of nginx and a PULL driver in front of an echo server, on 127.0.0.1 on free ports,
# the drivers reaching the kit through a relay that can cut their WebSockets; checked HTTP and echo traffic runs while
# the harness SIGKILLs the drivers, kills the laptop targets, cuts the WebSockets, SIGSTOPs the drivers past the
# heartbeat timeout and restarts the kit (SIGTERM, then SIGKILL). Exit 0 only if no byte was corrupted, no request was
# stuck or answered outside the documented failures, the traffic recovered after every fault and the kit came back to
# its baseline (descriptors, threads, heap after a full GC, streams, buffered bytes, sessions). About 3 minutes.
# Extra arguments go to faults.py (--help lists them), e.g. --results-md bench/RESULTS.md to record the run there.
set -euo pipefail
cd "$(dirname "$0")/../.."
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
[[ -x "$JAVA_HOME/bin/java" ]] || { echo "faults: no JDK 25 at $JAVA_HOME (set JAVA_HOME)" >&2; exit 2; }
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null; }
export PATH=$PATH:/usr/sbin
if [[ ! -f target/quarkus-app/quarkus-run.jar ]]; then
  ./mvnw -B -q -o package -DskipTests || ./mvnw -B -q package -DskipTests
elif [[ -n $(find src/main pom.xml -newer target/quarkus-app/quarkus-run.jar -type f 2>/dev/null | head -1) ]]; then
  echo "faults: warning: target/quarkus-app is older than src/main or pom.xml (rebuild: ./mvnw -B package -DskipTests)" >&2
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mode=${FAULTS_MODE:-faults}
export FAULTS_COMMAND="bench/faults/$([[ $mode == soak ]] && echo soak.sh || echo run.sh)${*:+ $*}"
python3 bench/faults/faults.py "$mode" "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; exit 130' INT TERM HUP
wait "$child"
