#!/usr/bin/env python3
"""Idle RSS of the kit under candidate JVM flag sets, interleaved round by round (a shared machine's noise hits each
alike). Each round per variant: a fresh kit, one session (a PULL binding), no traffic, RSS read 10 s after BIND_OK,
then the same after a full GC (jcmd GC.run). Also the loaded class count and metaspace (jcmd).

  python3 bench/lib/idle_rss.py --rounds 3 \\
      --variant 'image|target/quarkus-app/quarkus-run.jar|-XX:MaxRAM=384m -XX:+UseSerialGC -XX:MaxRAMPercentage=50' \\
      --variant 'small|target/quarkus-app/quarkus-run.jar|-XX:MaxRAM=384m -XX:+UseSerialGC -Xss256k -Xms8m'

A variant is NAME|JAR|KIT_JVM_FLAGS. Prints one line per kit and a median table (MiB). --class-groups also prints,
per variant, the loaded classes by the library or extension they come from (jcmd VM.classes, grouped by package,
GROUPS below): what each part of the kit costs in classes, and so roughly in metaspace."""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def jcmd(pid, *args):
    r = subprocess.run([bench.JCMD, str(pid)] + list(args), capture_output=True, text=True, timeout=30)
    return r.stdout


# (group, package prefixes), first match wins; what no prefix matches is "other". A lambda's hidden class is named
# after the class that defines it, so it counts with its owner.
GROUPS = [
    ("tunnel (ai.hoody)", ("ai.hoody.",)),
    ("JDK: method handles, reflection", ("java.lang.invoke.", "jdk.internal.reflect.")),
    ("JDK: the rest", ("java.", "javax.", "jdk.", "sun.", "com.sun.")),
    ("Netty", ("io.netty.",)),
    ("Vert.x", ("io.vertx.",)),
    ("WebSockets Next", ("io.quarkus.websockets.",)),
    ("REST (RESTEasy Reactive)", ("org.jboss.resteasy.reactive.", "io.quarkus.resteasy.reactive.", "io.quarkus.rest.",
                                  "jakarta.ws.rs.")),
    ("Jackson", ("com.fasterxml.jackson.", "io.quarkus.jackson.")),
    ("Micrometer, Prometheus", ("io.micrometer.", "io.quarkus.micrometer.", "io.prometheus.")),
    ("SmallRye Health", ("io.smallrye.health.", "io.quarkus.smallrye.health.", "org.eclipse.microprofile.health.")),
    ("SmallRye OpenAPI", ("io.smallrye.openapi.", "io.quarkus.smallrye.openapi.", "org.eclipse.microprofile.openapi.")),
    ("Mutiny, context propagation", ("io.smallrye.mutiny.", "io.smallrye.context.", "io.quarkus.smallrye.context.",
                                     "org.eclipse.microprofile.context.")),
    ("SmallRye Config", ("io.smallrye.config.", "org.eclipse.microprofile.config.", "io.quarkus.runtime.configuration.")),
    ("ArC (CDI)", ("io.quarkus.arc.", "jakarta.enterprise.", "jakarta.inject.", "jakarta.interceptor.")),
    ("logging", ("org.jboss.logging.", "org.jboss.logmanager.", "io.quarkus.runtime.logging.", "org.jboss.threads.")),
    ("picocli", ("picocli.",)),
    ("Quarkus runtime, bootstrap, generated", ("io.quarkus.",)),
]


def class_group(name):
    for group, prefixes in GROUPS:
        if name.startswith(prefixes):
            return group
    return "other"


class IdleRss(bench.Bench):
    def measure_variant(self, name, jar, flags):
        (kport, pport) = bench.free_ports(2)
        env = {"QUARKUS_HTTP_PORT": str(kport), "QUARKUS_HTTP_HOST": "127.0.0.1"}
        kit = bench.Proc(self, f"kit-{name}", [bench.JAVA] + flags.split() + ["-jar", jar], env=env)
        deadline = time.monotonic() + 60
        while bench.http_get(f"http://127.0.0.1:{kport}/q/health/ready", 2)[0] != 200:
            if time.monotonic() > deadline or not kit.alive():
                raise RuntimeError("kit did not start: " + kit.log_path)
            time.sleep(0.05)
        d = bench.Driver(self, f"drv-{name}", ["pull", f"127.0.0.1:{self.t_iperf}", "--port", str(pport),
                                              "--kit", f"http://127.0.0.1:{kport}"])
        d.wait_bound()
        time.sleep(self.args.idle_secs)
        rss = status_kib(kit.pid, "VmRSS") / 1024
        anon = status_kib(kit.pid, "RssAnon") / 1024
        jcmd(kit.pid, "GC.run")
        time.sleep(1)
        rss_gc = status_kib(kit.pid, "VmRSS") / 1024
        out = jcmd(kit.pid, "PerfCounter.print")
        pc = dict(re.findall(r"^(\S+)=(\S+)$", out, re.M))
        classes = int(pc.get("java.cls.loadedClasses", 0)) - int(pc.get("java.cls.unloadedClasses", 0))
        meta = int(pc.get("sun.gc.metaspace.used", 0)) / bench.MIB
        heap_used = sum(int(v) for k, v in pc.items() if re.match(r"sun\.gc\.generation\.\d\.space\.\d\.used$", k)) / bench.MIB
        heap_cap = sum(int(v) for k, v in pc.items() if re.match(r"sun\.gc\.generation\.\d\.capacity$", k)) / bench.MIB
        for k, v in (("rss", rss), ("anon", anon), ("rss_gc", rss_gc), ("classes", classes), ("meta", meta),
                     ("heap_used", heap_used), ("heap_cap", heap_cap)):
            self.rec(f"{name}.{k}", v)
        if self.args.class_groups:
            counts = {}
            for line in jcmd(kit.pid, "VM.classes").splitlines():
                cols = line.split()
                if len(cols) >= 4 and cols[0].startswith("0x"):
                    g = class_group(cols[-1])
                    counts[g] = counts.get(g, 0) + 1
            for g, n in counts.items():
                self.rec(f"{name}.group.{g}", n)
        bench.log(f"{name}: RSS {rss:.1f} MiB (anon {anon:.1f}), after GC {rss_gc:.1f}, classes {classes}, "
                  f"metaspace {meta:.1f} MiB, heap used {heap_used:.1f} of {heap_cap:.1f} MiB")
        self.drop(d)
        self.drop(kit)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", action="append", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle-secs", type=int, default=10)
    ap.add_argument("--secs", type=int, default=4)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--warmup-secs", type=int, default=1)
    ap.add_argument("--download-mib", type=int, default=16)
    ap.add_argument("--class-groups", action="store_true", help="also count loaded classes by library or extension")
    args = ap.parse_args()
    b = IdleRss(args)
    variants = [v.split("|") for v in args.variant]
    try:
        b.start_services()
        for _ in range(args.rounds):
            for name, jar, flags in variants:
                b.measure_variant(name, os.path.abspath(jar), flags)
    finally:
        b.cleanup()
    cols = ["rss", "anon", "rss_gc", "classes", "meta", "heap_used", "heap_cap"]
    print(f"{'variant':14s} " + " ".join(f"{c:>10s}" for c in cols))
    for name, *_ in variants:
        print(f"{name:14s} " + " ".join(f"{statistics.median(b.data[f'{name}.{c}']):10.1f}" for c in cols))
    if args.class_groups:
        groups = [g for g, _ in GROUPS] + ["other"]
        print(f"\n{'classes by group':40s} " + " ".join(f"{n:>10s}" for n, *_ in variants))
        for g in groups:
            row = [statistics.median(b.data.get(f"{n}.group.{g}", [0])) for n, *_ in variants]
            print(f"{g:40s} " + " ".join(f"{v:10.0f}" for v in row))


if __name__ == "__main__":
    main()
