#!/usr/bin/env bash
# Which JVM flags the hoody-tunnel launcher gives the driver and admin commands: start-up of each candidate.
#
# Starts one kit (target/quarkus-app/quarkus-run.jar, built beforehand) on a free loopback port, then for each flag
# set runs, RUNS times and interleaved with the others,
#   connect  ms from launching `java <flags> -jar quarkus-run.jar expose ...` to its `connected` event (stdout, --json),
#   bound    ms to its `bind_ok` event (the driver is serving),
#   health   ms for the whole `health` admin command (JVM start to exit),
# and prints medians. Archive-backed sets (cds) get one untimed run first, which creates the archive, as a user's
# first run does. Then a bulk check: 2 GiB pulled through the driver (a Python sink behind it) with the default and
# the C1-only JIT, since the driver carries the data and a start-up flag must not cost throughput or CPU: Gbit/s and
# the driver process's CPU seconds per GiB (its whole life, start-up included).
#
# Usage: bench/launcher-start.sh     (RUNS=7, BULK_GIB=2, BULK_ONLY=1 skips the start-up runs; every port is a free one)
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
RUNS=${RUNS:-7} JAR=target/quarkus-app/quarkus-run.jar JAVA=$JAVA_HOME/bin/java exec python3 - <<'PY'
import json, os, socket, statistics, subprocess, tempfile, threading, time, urllib.request

JAVA, JAR, RUNS = os.environ["JAVA"], os.environ["JAR"], int(os.environ["RUNS"])
cache = tempfile.mkdtemp(prefix="launcher-cds-")

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def cds(name):
    return ["-XX:+AutoCreateSharedArchive", f"-XX:SharedArchiveFile={cache}/{name}.jsa", "-Xlog:cds=off", "-Xlog:cds+dynamic=off"]

SETS = {
    "defaults": [],
    "serial": ["-XX:+UseSerialGC"],
    "c1": ["-XX:TieredStopAtLevel=1"],
    "cds": cds("a"),
    "cds+serial": cds("b") + ["-XX:+UseSerialGC"],
    "cds+serial+c1": cds("c") + ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"],
}

kit_port = free_port()
kit = subprocess.Popen([JAVA, f"-Dquarkus.http.port={kit_port}", "-jar", JAR], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
kit_url = f"http://127.0.0.1:{kit_port}"
deadline = time.time() + 60
while True:
    try:
        if urllib.request.urlopen(kit_url + "/q/health/ready", timeout=1).status == 200:
            break
    except Exception:
        if time.time() > deadline:
            raise SystemExit("the kit did not start")
        time.sleep(0.05)

def driver_run(flags):
    """ms to `connected` and to `bind_ok` of one driver process."""
    target = free_port()
    t0 = time.perf_counter()
    p = subprocess.Popen([JAVA, *flags, "-jar", JAR, "expose", str(target), "--port", str(free_port()), "--kit", kit_url,
                          "--json", "--proxy", ""], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    connected = bound = None
    for line in p.stdout:
        e = json.loads(line)
        if e["event"] == "connected":
            connected = (time.perf_counter() - t0) * 1000
        if e["event"] == "bind_ok":
            bound = (time.perf_counter() - t0) * 1000
            break
    p.terminate()
    p.wait()
    return connected, bound

def health_run(flags):
    t0 = time.perf_counter()
    subprocess.run([JAVA, *flags, "-jar", JAR, "health", "--kit", kit_url], stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t0) * 1000

results = {name: {"connect": [], "bound": [], "health": []} for name in SETS}
try:
    for name, flags in SETS.items():
        if any("SharedArchiveFile" in f for f in flags):
            driver_run(flags)  # creates the archive, as a user's first run would
            health_run(flags)
    for _ in range(0 if os.environ.get("BULK_ONLY") else RUNS):
        for name, flags in SETS.items():
            c, b = driver_run(flags)
            results[name]["connect"].append(c)
            results[name]["bound"].append(b)
            results[name]["health"].append(health_run(flags))
    print(f"{'flags':<16}{'connect ms':>12}{'bind_ok ms':>12}{'health ms':>12}   (medians of {RUNS})")
    for name in SETS if not os.environ.get("BULK_ONLY") else []:
        r = results[name]
        print(f"{name:<16}{statistics.median(r['connect']):>12.0f}{statistics.median(r['bound']):>12.0f}{statistics.median(r['health']):>12.0f}")

    # Bulk: BULK_GIB (2) GiB through a PULL binding, default JIT vs C1 only.
    SIZE = int(os.environ.get("BULK_GIB", "2")) << 30
    def bulk(flags):
        sink = socket.socket()
        sink.bind(("127.0.0.1", 0))
        sink.listen()
        def drain():
            c, _ = sink.accept()
            with c:
                while c.recv(1 << 20):
                    pass
        threading.Thread(target=drain, daemon=True).start()
        pulled = free_port()
        p = subprocess.Popen([JAVA, *flags, "-jar", JAR, "pull", str(sink.getsockname()[1]), "--port", str(pulled),
                              "--kit", kit_url, "--json", "--proxy", ""], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in p.stdout:
            if json.loads(line)["event"] == "bind_ok":
                break
        chunk = b"x" * (1 << 20)
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", pulled)) as s:
            for _ in range(SIZE // len(chunk)):
                s.sendall(chunk)
            s.shutdown(socket.SHUT_WR)
            s.recv(1)
        seconds = time.perf_counter() - t0
        with open(f"/proc/{p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, whole life
        p.terminate()
        p.wait()
        sink.close()
        return SIZE * 8 / seconds / 1e9, cpu / (SIZE / 2**30)
    for name in ("cds+serial", "cds+serial+c1"):
        runs = [bulk(SETS[name]) for _ in range(3)]
        print(f"bulk PULL {SIZE >> 30} GiB, {name:<14} {statistics.median(r[0] for r in runs):.2f} Gbit/s, "
              f"driver {statistics.median(r[1] for r in runs):.2f} CPU-s/GiB (medians of 3)")
finally:
    kit.terminate()
    kit.wait()
PY
