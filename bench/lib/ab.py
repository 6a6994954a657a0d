#!/usr/bin/env python3
"""A/B comparison of kit/driver variants on the hot workloads (iperf3 through PULL both ways, wrk -c50 through EXPOSE
with keep-alive and with `Connection: close`; CPU over the kit's and driver's whole process trees),
interleaved round by round so that a shared machine's noise hits every variant alike. For trying a data-plane fix:
build the changed tree elsewhere and compare its jar with the current one.

  python3 bench/lib/ab.py --rounds 3 \\
      --variant 'base|target/quarkus-app/quarkus-run.jar||' \\
      --variant 'order4|/tmp/x/target/quarkus-app/quarkus-run.jar||' \\
      --variant 'win1m|target/quarkus-app/quarkus-run.jar|-Dhoody.tunnel.stream-window=1048576|'

A variant is NAME|JAR|KIT_JVM_FLAGS|DRIVER_JVM_FLAGS. Prints one line per measurement and a median table.
--workloads picks what to measure (p1,p8,p1R,c50,close50,c200; default all but c200), --p8-reps how many p8 samples
per round, e.g. --workloads p8,c50,c200 --p8-reps 3 for the multi-stream and concurrency cases.
--only-close measures only new connections (wrk -c50, Connection: close), e.g. for
--variant 'early|JAR||' --variant 'noearly|JAR|-Dhoody.tunnel.early-data=false|'.
Uses the same helpers as bench.py (iperf3, nginx, free ports, cleanup)."""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


class AB(bench.Bench):
    def run_variant(self, name, jar, kit_flags, drv_flags):
        (kport, pport, eport) = bench.free_ports(3)
        env = {"QUARKUS_HTTP_PORT": str(kport), "QUARKUS_HTTP_HOST": "127.0.0.1", "HOODY_TUNNEL_EXPOSE_HOST": "127.0.0.1"}
        kit = bench.Proc(self, f"kit-{name}", [bench.JAVA, "-Xmx512m"] + kit_flags.split() + ["-jar", jar], env=env)
        deadline = time.monotonic() + 60
        while bench.http_get(f"http://127.0.0.1:{kport}/q/health/ready", 2)[0] != 200:
            if time.monotonic() > deadline or not kit.alive():
                raise RuntimeError("kit did not start: " + kit.log_path)
            time.sleep(0.05)
        denv = {"JDK_JAVA_OPTIONS": drv_flags} if drv_flags else None
        dp = bench.Driver(self, f"drv-pull-{name}", ["pull", f"127.0.0.1:{self.t_iperf}", "--port", str(pport),
                                                      "--kit", f"http://127.0.0.1:{kport}"], jar=jar, env=denv)
        de = bench.Driver(self, f"drv-expose-{name}", ["expose", f"127.0.0.1:{self.t_http}", "--port", str(eport),
                                                        "--kit", f"http://127.0.0.1:{kport}"], jar=jar, env=denv)
        dp.wait_bound()
        de.wait_bound()
        w = self.args.warmup_secs
        pids = [kit.pid, dp.pid]  # whole process trees (bench.CpuMeter)
        if self.args.only_close:
            self.wrk(eport, 50, secs=w, close=True)
            self.close_workloads(name, kit, de, eport, ((50, True),))
            bench.log(f"{name}: close50 {[round(x) for x in self.data[name + '.close50'][-self.args.reps:]]} "
                      f"µs/req {[round(x, 1) for x in self.data[name + '.close50.cpu_us'][-self.args.reps:]]}")
            for p in (dp, de, kit):
                self.drop(p)
            return
        wl = self.workloads
        self.iperf3(pport, 1, secs=w)
        self.iperf3(pport, 8, secs=2)
        self.wrk(eport, 50, secs=w)
        self.wrk(eport, 50, secs=2, close=True)
        if "p1" in wl:
            for _ in range(self.args.reps):
                (g, nbytes), cpu, _ = self.with_cpu(pids, lambda: self.iperf3(pport, 1))
                self.rec(f"{name}.p1", g)
                self.rec(f"{name}.p1.cpu_per_gb", cpu / (nbytes / 1e9))
        if "p8" in wl:
            for _ in range(self.args.p8_reps):
                (g, nbytes), cpu, _ = self.with_cpu(pids, lambda: self.iperf3(pport, 8))
                self.rec(f"{name}.p8", g)
                self.rec(f"{name}.p8.cpu_per_gb", cpu / (nbytes / 1e9))
        if "p1R" in wl:
            for _ in range(self.args.reps):
                (g, nbytes), cpu, _ = self.with_cpu(pids, lambda: self.iperf3(pport, 1, reverse=True))
                self.rec(f"{name}.p1R", g)
                self.rec(f"{name}.p1R.cpu_per_gb", cpu / (nbytes / 1e9))
        self.close_workloads(name, kit, de, eport,
                             [c for c in ((50, False), (50, True), (200, False)) if self.key(*c) in wl])
        bench.log(f"{name}: " + " ".join(f"{k} {[round(x, 2) for x in self.data.get(name + '.' + k, [])[-max(self.args.reps, self.args.p8_reps):]]}"
                                         for k in wl))
        for p in (dp, de, kit):
            self.drop(p)

    @staticmethod
    def key(conns, close):
        return f"close{conns}" if close else f"c{conns}"

    def close_workloads(self, name, kit, de, eport, workloads):
        """wrk through EXPOSE at (connections, Connection: close?) each; CPU of kit + expose driver per request."""
        for conns, close in workloads:
            key = f"{name}.{self.key(conns, close)}"
            for _ in range(self.args.reps):
                v, cpu, _ = self.with_cpu([kit.pid, de.pid], lambda: self.wrk(eport, conns, close=close))
                self.rec(key, v["rps"])
                self.rec(key + ".p99_ms", v["p99_us"] / 1000)
                self.rec(key + ".cpu_us", cpu / max(v["requests"], 1) * 1e6)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", action="append", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--secs", type=int, default=4)
    ap.add_argument("--warmup-secs", type=int, default=8)
    ap.add_argument("--download-mib", type=int, default=16)
    ap.add_argument("--only-close", action="store_true",
                    help="only wrk -c50 with Connection: close (new connections), no iperf3 or keep-alive")
    ap.add_argument("--workloads", default="p1,p8,p1R,c50,close50",
                    help="comma-separated, from p1,p8,p1R,c50,close50,c200 (default: all but c200)")
    ap.add_argument("--p8-reps", type=int, default=1, help="samples of p8 per round (it is the noisiest)")
    args = ap.parse_args()
    b = AB(args)
    b.workloads = args.workloads.split(",")
    variants = [v.split("|") for v in args.variant]
    try:
        b.start_services()
        for r in range(args.rounds):
            for name, jar, kf, df in variants:
                b.run_variant(name, os.path.abspath(jar), kf, df)
    finally:
        b.cleanup()
    cols = [("p1", "p1 Gbit/s", ".2f"), ("p1.cpu_per_gb", "CPU-s/GB", ".2f"), ("p8", "p8 Gbit/s", ".2f"),
            ("p1R", "p1R Gbit/s", ".2f"), ("p1R.cpu_per_gb", "R CPU-s/GB", ".2f"), ("c50", "c50 req/s", ".0f"),
            ("c50.cpu_us", "c50 µs/req", ".1f"), ("c50.p99_ms", "c50 p99 ms", ".2f"), ("close50", "close req/s", ".0f"),
            ("close50.cpu_us", "close µs/req", ".1f"),
            ("c200", "c200 req/s", ".0f"), ("c200.cpu_us", "c200 µs/req", ".1f"), ("c200.p99_ms", "c200 p99 ms", ".2f")]
    cols = [c for c in cols if c[0].split(".")[0] in b.workloads]
    print(f"{'variant':12s} " + " ".join(f"{h:>12s}" for _, h, _ in cols))
    for name, *_ in variants:
        m = lambda k: statistics.median(b.data.get(f"{name}.{k}", [0]))  # noqa: E731
        print(f"{name:12s} " + " ".join(f"{m(k):12{fmt}}" for k, _, fmt in cols))


if __name__ == "__main__":
    main()
