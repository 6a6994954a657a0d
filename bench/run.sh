#!/usr/bin/env bash
# bench/run.sh — hoody-tunnel's whole benchmark suite in one command (see bench/README.md).
#
# Installs what is missing (apt-get), builds the jar if missing (and the aot-jar packaging the image uses, into
# target/bench-aot, when it is missing or stale), raises the descriptor limit, then runs
# bench/lib/bench.py, which starts every server, client, kit and driver itself on 127.0.0.1, stops them again, and
# writes bench/RESULTS.md (+ bench/results.json, bench/profile/*.txt, bench/README-table.md). About 15 minutes on a
# 2-core machine.
# Extra arguments go to bench.py (e.g. --reps 5, --phases bulk,http, --render-only); --help lists them.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}

if [[ ! -x "$JAVA_HOME/bin/java" ]]; then
  echo "bench: no JDK 25 at $JAVA_HOME (set JAVA_HOME)" >&2
  exit 2
fi

# --- tools: install only what is missing ------------------------------------------------------------------------
missing=()
have() { command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]; }
for pair in iperf3:iperf3 wrk:wrk hey:hey sshd:openssh-server ssh:openssh-client ssh-keygen:openssh-client \
            nginx:nginx-light curl:curl python3:python3 ss:iproute2; do
  have "${pair%%:*}" || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  echo "bench: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- the jars --------------------------------------------------------------------------------------------------
render_only=0 want_aot=1
prev=
for a in "$@"; do
  [[ $a == --render-only || $a == -h || $a == --help ]] && render_only=1
  if [[ $prev == --phases && $a != *rss* ]] || [[ $a == --phases=* && $a != *rss* ]]; then want_aot=0; fi
  [[ $a == --aot-app* ]] && want_aot=0   # the caller brings its own aot-jar build
  prev=$a
done

if ((!render_only)); then
  if [[ ! -f target/quarkus-app/quarkus-run.jar ]]; then
    echo "bench: building the jar" >&2
    ./mvnw -B -q -o package -DskipTests || ./mvnw -B -q package -DskipTests
  elif [[ -n $(find src/main pom.xml -newer target/quarkus-app/quarkus-run.jar -type f 2>/dev/null | head -1) ]]; then
    echo "bench: warning: target/quarkus-app is older than src/main or pom.xml (rebuild: ./mvnw -B package -DskipTests)" >&2
  fi
  # The image's kit runs with a JDK AOT cache of the aot-jar packaging (src/main/docker/Dockerfile.jvm); the idle-RSS
  # phase measures the shipped flags with it. Built into target/bench-aot (target/quarkus-app is left alone) and
  # rebuilt when the commit or the working tree's src/ and pom.xml change.
  if ((want_aot)) && grep -q -- '-XX:AOTCache' src/main/docker/Dockerfile.jvm; then
    stamp="$(git rev-parse HEAD) $( (git diff HEAD -- src pom.xml; git ls-files --others --exclude-standard -- src) | sha1sum | cut -c1-16)"
    if [[ ! -f target/bench-aot/quarkus-run.jar || "$(cat target/bench-aot/.bench-stamp 2>/dev/null)" != "$stamp" ]]; then
      echo "bench: building the aot-jar packaging into target/bench-aot (for the shipped-flags idle RSS)" >&2
      props=target/quarkus-artifact.properties
      [[ -f $props ]] && cp "$props" "$props.bench-save"
      rm -rf target/bench-aot
      ./mvnw -B -q -o package -DskipTests -Dquarkus.package.jar.aot.enabled=true -Dquarkus.package.jar.aot.phase=build \
        -Dquarkus.package.output-directory=bench-aot >&2 ||
        ./mvnw -B -q package -DskipTests -Dquarkus.package.jar.aot.enabled=true -Dquarkus.package.jar.aot.phase=build \
          -Dquarkus.package.output-directory=bench-aot >&2
      [[ -f $props.bench-save ]] && mv "$props.bench-save" "$props"
      echo "$stamp" >target/bench-aot/.bench-stamp
    fi
  fi
fi

# --- descriptors: 10,000 idle streams need ~10,000 per process (kit, driver, client, server) ----------------------
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < 12000 )); then
  echo "bench: warning: ulimit -n is $(ulimit -n); the 10,000-stream run needs about 12,000" >&2
fi

# --- run; a signal stops bench.py, which stops everything it started ------------------------------------------------
python3 bench/lib/bench.py "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; exit 130' INT TERM HUP
wait "$child"
