"""Renders bench/RESULTS.md from the samples bench.py collected (bench/results.json)."""
import os
import statistics

MIB = 1024 * 1024
BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTES = os.path.join(BENCH, "PROFILE-NOTES.md")


def med(xs):
    xs = [x for x in (xs or []) if x is not None]
    return statistics.median(xs) if xs else None


def f(x, digits=2, unit=""):
    if x is None:
        return "—"
    if isinstance(x, float) and abs(x) >= 1000:
        return f"{x:,.0f}{unit}"
    return f"{x:,.{digits}f}{unit}"


def first(xs):
    return xs[0] / 1024 if xs else None


def ratio(a, b):
    return None if a is None or not b else a / b


def rx(x):
    return "—" if x is None else f"{x:.2f}×"


def runs(xs, digits=2, scale=1.0):
    return ", ".join("—" if x is None else f"{x * scale:.{digits}f}" for x in (xs or []))


class Report:
    def __init__(self, saved):
        self.d = saved["data"]
        self.x = saved["extra"]
        self.out = []

    def m(self, key, scale=1.0):
        v = med(self.d.get(key))
        return None if v is None else v * scale

    def w(self, *lines):
        self.out.extend(lines)

    # ------------------------------------------------------------------------------------------------------------

    def targets(self):
        rows = []
        p1, p1s, p1d = self.m("iperf.p1.tunnel"), self.m("iperf.p1.ssh -R"), self.m("iperf.p1.direct")
        p8, p8d = self.m("iperf.p8.tunnel"), self.m("iperf.p8.direct")
        c50, c50s, c50d = self.m("wrk.c50.tunnel.rps"), self.m("wrk.c50.ssh -R.rps"), self.m("wrk.c50.direct.rps")
        p99, p99d = self.m("wrk.c50.tunnel.p99_us"), self.m("wrk.c50.direct.p99_us")
        idle_err = self.d.get("idle.10000.errors")
        heap10k = self.m("idle.10000.heap_per_stream")
        rss = self.m("kit.idle.rss")

        def row(key, target, measured, ok):
            rows.append((key, target, measured, None if ok is None else ("met" if ok else "**missed**")))

        r = ratio(p1, p1s)
        row("bulk-pull-1-vs-ssh", "Bulk TCP through PULL, 1 stream ≥ 2× `ssh -R`",
            f"{f(p1)} vs {f(p1s)} Gbit/s = {rx(r)}", None if r is None else r >= 2)
        r = ratio(p1, p1d)
        row("bulk-pull-1-vs-direct", "Bulk TCP through PULL, 1 stream ≥ 0.35× direct",
            f"{f(p1)} vs {f(p1d)} Gbit/s = {rx(r)}", None if r is None else r >= 0.35)
        r = ratio(p8, p8d)
        row("bulk-pull-8-vs-direct", "Bulk TCP through PULL, 8 streams ≥ 0.35× direct",
            f"{f(p8)} vs {f(p8d)} Gbit/s = {rx(r)}", None if r is None else r >= 0.35)
        r = ratio(c50, c50s)
        row("http-c50-vs-ssh", "HTTP through EXPOSE, 50 connections ≥ 1.5× `ssh -R` req/s",
            f"{f(c50, 0)} vs {f(c50s, 0)} req/s = {rx(r)}", None if r is None else r >= 1.5)
        r = ratio(c50, c50d)
        row("http-c50-vs-direct", "HTTP through EXPOSE, 50 connections ≥ 0.5× direct req/s",
            f"{f(c50, 0)} vs {f(c50d, 0)} req/s = {rx(r)}", None if r is None else r >= 0.5)
        added = None if p99 is None or p99d is None else (p99 - p99d) / 1000
        row("http-c50-p99", "HTTP through EXPOSE, 50 connections: p99 added ≤ 1 ms over direct",
            f"{f(p99 / 1000 if p99 else None)} vs {f(p99d / 1000 if p99d else None)} ms = +{f(added)} ms",
            None if added is None else added <= 1.0)
        row("idle-10k-errors", "10,000 concurrent idle streams on one session, zero errors",
            "errors per run: " + (", ".join(str(e) for e in idle_err) if idle_err else "—"),
            None if not idle_err else all(e == 0 for e in idle_err))
        row("idle-10k-heap", "≤ 16 KiB of kit heap per idle stream (10,000 streams)",
            f"{f(heap10k / 1024 if heap10k else None)} KiB", None if heap10k is None else heap10k <= 16 * 1024)
        row("rss-idle", "Kit RSS idle ≤ 80 MB (JVM, `-Xmx512m`)",
            f"{f(rss / 1e6 if rss else None, 1)} MB ({f(rss / MIB if rss else None, 1)} MiB)",
            None if rss is None else rss <= 80e6)
        return rows

    def render(self):
        mach = self.x.get("machine", {})
        self.w("# hoody-tunnel benchmark results", "",
               "Written by `bench/run.sh` (see [bench/README.md](README.md)); every figure is the **median** of "
               f"{mach.get('reps', 3)} runs unless said otherwise, and every ratio compares medians measured **in this same run**. "
               "Raw samples: [results.json](results.json); JFR summaries: [profile/](profile/).", "")
        self.w("## Machine and run", "",
               "| | |", "|---|---|",
               f"| date | {mach.get('date')} |",
               f"| commit | `{mach.get('commit')}` (branch `{mach.get('branch')}`{', **src/ has local changes**' if mach.get('src_dirty') else ''}) |",
               f"| machine | {mach.get('nproc')} cores ({mach.get('cpu')}), {mach.get('ram_gib')} GiB RAM, kernel {mach.get('kernel')} |",
               f"| JDK | {mach.get('jdk')} |",
               f"| kit | `java {mach.get('kit_jvm')} -jar target/quarkus-app/quarkus-run.jar` (G1, the JVM's default here), drivers `java -jar … pull/expose` |",
               f"| tools | {mach.get('iperf3')}; {mach.get('wrk')}; nginx {mach.get('nginx')} (1 worker, `access_log off`, sendfile); {mach.get('openssh')}; Python {mach.get('python')} |",
               f"| `ssh -R` | throw-away `sshd -D -f` on a free loopback port, throw-away ed25519 keys, cipher `{mach.get('ssh_cipher')}` (explicit `-c`), one `ssh -N -R … -R …` for both forwards |",
               f"| runs | {mach.get('reps')} × {mach.get('secs')} s per iperf3/wrk figure, paths interleaved (direct, ssh -R, tunnel) in every repetition; JIT warm-up of each path first |",
               f"| ulimit -n | {mach.get('nofile')} |",
               f"| wall time | {f(self.x.get('elapsed_s', 0) / 60, 1)} min |",
               f"| other load | this machine is shared: processes not started by the bench used "
               + ", ".join(f"{p['foreign_cores']:.2f} cores during {p['phase']}" for p in self.x.get("foreign_cpu", []))
               + f" (before start: {self.x.get('busy_before_start', '?')}); figures taken while others were busy are noisier, "
               "the tunnel (the most CPU-hungry path) suffers most |", "")

        self.w("## Targets (issue 5)", "",
               "| target | measured (medians) | result | what limits it |", "|---|---|---|---|")
        limits = LIMITS
        for key, target, measured, ok in self.targets():
            why = limits.get(key, "") if ok == "**missed**" else ""
            self.w(f"| {target} | {measured} | {ok or 'not measured'} | {why} |")
        self.w("")

        # ---- bulk
        self.w("## 1. Bulk TCP throughput", "",
               f"iperf3 (`-t {mach.get('secs')}`), Gbit/s received. *tunnel* = container client → kit PULL port → WebSocket → "
               "driver → iperf3 server on the laptop side; `-R` reverses the direction (server → client, i.e. driver → kit).", "",
               "| workload | direct | ssh -R | tunnel (PULL) | tunnel ÷ direct | tunnel ÷ ssh -R | ssh -R ÷ direct |",
               "|---|---|---|---|---|---|---|")
        for case, name in (("p1", "1 stream"), ("p8", "8 parallel streams (`-P 8`)"), ("p1R", "1 stream, reverse (`-R`)")):
            d, s, t = (self.m(f"iperf.{case}.{p}") for p in ("direct", "ssh -R", "tunnel"))
            self.w(f"| {name} | {f(d)} | {f(s)} | {f(t)} | {rx(ratio(t, d))} | {rx(ratio(t, s))} | {rx(ratio(s, d))} |")
        d, s, t = (self.m(f"download.{p}") for p in ("direct", "ssh -R", "tunnel"))
        self.w(f"| HTTP download of a {mach.get('download_mib')} MiB file from nginx, curl `speed_download` (tunnel = EXPOSE) | "
               f"{f(d)} | {f(s)} | {f(t)} | {rx(ratio(t, d))} | {rx(ratio(t, s))} | {rx(ratio(s, d))} |", "")
        self.w("CPU cost of the forwarding processes (kit + driver for the tunnel; sshd + ssh for `ssh -R`), CPU-seconds per GB moved:", "",
               "| workload | ssh -R | tunnel |", "|---|---|---|")
        for case, name in (("iperf.p1", "iperf3 1 stream"), ("iperf.p8", "iperf3 8 streams"), ("iperf.p1R", "iperf3 1 stream -R"),
                           ("download", "HTTP download")):
            self.w(f"| {name} | {f(self.m(f'cpu_per_gb.{case}.ssh -R'))} | {f(self.m(f'cpu_per_gb.{case}.tunnel'))} |")
        self.w("")

        # ---- http
        self.w("## 2. HTTP through EXPOSE (wrk, tiny static page from nginx)", "",
               "`wrk -t2 -cN -d5s --latency` (`-t1` for 1 connection) with [lib/latency.lua](lib/latency.lua) for p99.9; "
               "latencies in ms.", "",
               "| connections | path | req/s | ÷ direct | ÷ ssh -R | p50 | p99 | p99.9 | errors (sum) | CPU µs/request |",
               "|---|---|---|---|---|---|---|---|---|---|")
        for c in (1, 50, 200):
            rd, rs = self.m(f"wrk.c{c}.direct.rps"), self.m(f"wrk.c{c}.ssh -R.rps")
            for p in ("direct", "ssh -R", "tunnel"):
                r = self.m(f"wrk.c{c}.{p}.rps")
                errs = self.d.get(f"wrk.c{c}.{p}.errors") or []
                self.w(f"| {c} | {p} | {f(r, 0)} | {rx(ratio(r, rd)) if p != 'direct' else ''} | "
                       f"{rx(ratio(r, rs)) if p == 'tunnel' else ''} | {f(self.m(f'wrk.c{c}.{p}.p50_us', 1e-3))} | "
                       f"{f(self.m(f'wrk.c{c}.{p}.p99_us', 1e-3))} | {f(self.m(f'wrk.c{c}.{p}.p999_us', 1e-3))} | "
                       f"{sum(errs)} | {f(self.m(f'cpu_per_req_us.wrk.c{c}.{p}'), 1) if p != 'direct' else ''} |")
        self.w("")

        # ---- idle
        self.w("## 3. Concurrent idle streams on one session", "",
               "A Python asyncio client ([lib/idle_client.py](lib/idle_client.py)) opens N connections to one PULL port; the "
               "driver's target ([lib/idle_server.py](lib/idle_server.py)) accepts and holds them. Counted as open when the kit's "
               f"stream count (`{self.x.get('streams_source', '?')}`) and the target's established connections (`ss`) both reach N; "
               "then kit RSS, a full GC (`jcmd GC.run`) and heap used (`jcmd GC.heap_info`); then one byte is echoed "
               "through every stream to prove it is still alive; then all are closed. Heap per stream = (heap with N − heap "
               "before) ÷ N, both after a full GC. This phase runs last, on a fresh kit; RSS growth is taken from the first "
               "run of each N, since a JVM keeps the memory it once touched and later runs grow less.", "",
               "| streams | errors per run | open all (s) | kit heap / stream | kit RSS growth / stream (1st run) | driver RSS growth / stream (1st run) | kit RSS with N open | kit heap with N open |",
               "|---|---|---|---|---|---|---|---|")
        for n in sorted({int(k.split(".")[1]) for k in self.d if k.startswith("idle.")}):
            errs = self.d.get(f"idle.{n}.errors") or []
            self.w(f"| {n:,} | {', '.join(str(e) for e in errs)} | {f(self.m(f'idle.{n}.open_s'))} | "
                   f"{f(self.m(f'idle.{n}.heap_per_stream', 1 / 1024))} KiB | {f(first(self.d.get(f'idle.{n}.rss_per_stream')), 2)} KiB | "
                   f"{f(first(self.d.get(f'idle.{n}.driver_rss_per_stream')), 2)} KiB | {f(self.m(f'idle.{n}.kit_rss', 1 / MIB), 1)} MiB | "
                   f"{f(self.m(f'idle.{n}.kit_heap', 1 / MIB), 1)} MiB |")
        self.w("", "Per run (heap per stream, KiB): " + "; ".join(
            f"{n:,}: {runs(self.d.get(f'idle.{n}.heap_per_stream'), 2, 1 / 1024)}"
            for n in sorted({int(k.split('.')[1]) for k in self.d if k.startswith('idle.')})), "")

        # ---- rss, ttfb
        self.w("## 4. Kit memory and time to first byte", "",
               "| figure | median | runs |", "|---|---|---|",
               f"| kit RSS idle (fresh kit, one session with one PULL binding, no traffic, 5 s after BIND_OK) | "
               f"{f(self.m('kit.idle.rss', 1 / MIB), 1)} MiB | {runs(self.d.get('kit.idle.rss'), 1, 1 / MIB)} |",
               f"| … heap used after a full GC at that point | {f(self.m('kit.idle.heap', 1 / MIB), 1)} MiB | {runs(self.d.get('kit.idle.heap'), 1, 1 / MIB)} |",
               f"| … kit start to ready (`/q/health/ready` 200) | {f(self.m('kit.idle.ready_s'))} s | {runs(self.d.get('kit.idle.ready_s'))} |")
        if self.d.get("kit.idle_variant.rss"):
            self.w(f"| kit RSS idle with `{mach.get('rss_variant')}` added (informational: what launch flags alone give) | "
                   f"{f(self.m('kit.idle_variant.rss', 1 / MIB), 1)} MiB | {runs(self.d.get('kit.idle_variant.rss'), 1, 1 / MIB)} |")
        self.w(f"| kit RSS under load: peak during `wrk -c200` through EXPOSE (sampled every 100 ms) | "
               f"{f(self.m('kit.load.rss_peak', 1 / MIB), 1)} MiB | {runs(self.d.get('kit.load.rss_peak'), 1, 1 / MIB)} |",
               f"| time from driver start (`java -jar … expose`) to the first HTTP 200 through its port (kit warm) | "
               f"{f(self.m('ttfb.ms'), 0)} ms | {runs(self.d.get('ttfb.ms'), 0)} |",
               f"| … of which driver start to `bind_ok` | {f(self.m('ttfb.bind_ok_ms'), 0)} ms | {runs(self.d.get('ttfb.bind_ok_ms'), 0)} |",
               "")

        self.w("## 5. v1 vs v2 under one slow socket", "", "Not built yet (v2 comes in a later issue).", "")

        self.profile()
        return "\n".join(self.out) + "\n"

    def profile(self):
        self.w("## Profile", "")
        pull, expose = self.x.get("profile_pull"), self.x.get("profile_expose")
        if not pull and not expose:
            self.w("Not run.", "")
            return
        self.w("JFR on the kit and on the driver (`jcmd <pid> JFR.start settings=profile jdk.CPUTimeSample#enabled=true "
               "jdk.CPUTimeSample#throttle=2ms`), started after warm-up and stopped after the workload. The CPU tables use "
               "JDK 25's CPU-time sampler (`jdk.CPUTimeSample`), which — unlike `jdk.ExecutionSample` — also sees threads "
               "inside socket reads and writes; [lib/jfr_cpu.py](lib/jfr_cpu.py) groups the samples. Full views per "
               "recording: [profile/](profile/).", "")
        if pull:
            mb = pull["bytes"] / 1e6
            self.w(f"- **PULL, iperf3 1 stream, {pull['wall_s']:.0f} s**: {pull['gbps']:.2f} Gbit/s (under JFR), "
                   f"kit+driver {pull['cpu_s']:.1f} CPU-s = {pull['cpu_s'] / pull['wall_s']:.2f} cores; "
                   f"≈{pull['frames']:,.0f} DATA frames of 64 KiB; context switches per DATA frame: "
                   f"kit {pull['ctx']['kit'] / max(pull['frames'], 1):.2f}, driver {pull['ctx']['driver'] / max(pull['frames'], 1):.2f}; "
                   f"{mb / pull['wall_s']:,.0f} MB/s.")
        if expose:
            self.w(f"- **EXPOSE, wrk -c50, {expose['wall_s']:.0f} s**: {expose['rps']:,.0f} req/s (under JFR), p99 "
                   f"{expose['p99_us'] / 1000:.2f} ms, kit+driver {expose['cpu_s']:.1f} CPU-s = "
                   f"{expose['cpu_s'] / expose['requests'] * 1e6:.0f} µs per request; context switches per request: "
                   f"kit {expose['ctx']['kit'] / max(expose['requests'], 1):.2f}, driver {expose['ctx']['driver'] / max(expose['requests'], 1):.2f}.")
        self.w("")
        views = self.x.get("profile_views", {})
        for base in sorted(views):
            v = views[base]
            cpu = v["cpu"]
            work = pull if v["workload"] == "profile_pull" else expose
            alloc = v.get("allocated")
            per = ""
            if alloc and work:
                if v["workload"] == "profile_pull":
                    per = f"; ≈{alloc / max(work['frames'], 1):,.0f} bytes allocated per 64 KiB DATA frame"
                else:
                    per = f"; ≈{alloc / max(work['requests'], 1):,.0f} bytes allocated per HTTP request"
            self.w(f"### {base}", "",
                   f"{cpu['samples']} samples of `{cpu['event_type']}`; Java heap allocation ≈ "
                   f"{(alloc or 0) / max(work['wall_s'], 1) / 1e6:,.0f} MB/s{per}; `jdk.ThreadPark` events (≥ 20 ms, "
                   f"profile threshold) {v['park_events']}, `jdk.JavaMonitorEnter` {v['monitor_events']}, "
                   f"`jdk.VirtualThreadPinned` {v['pinned_events']}; GC: "
                   + (f"{v['gc'][0]} collections, {v['gc'][1]:.0f} ms of pauses in total, longest {v['gc'][2]:.1f} ms."
                      if v.get("gc") else "—"), "",
                   "| CPU by activity | % | | CPU by thread | % |", "|---|---|---|---|---|")
            a, t = cpu["by_activity"][:10], cpu["by_thread"][:8]
            for i in range(max(len(a), len(t))):
                l = a[i] if i < len(a) else ("", "")
                r = t[i] if i < len(t) else ("", "")
                self.w(f"| {l[0]} | {l[1]} | | {r[0]} | {r[1]} |")
            self.w("", "| hottest self frame ← nearest application frame | % |", "|---|---|")
            for k, p in cpu["by_self_and_caller"][:10]:
                self.w(f"| `{k}` | {p} |")
            self.w("", "<details><summary>allocation by site (jfr view allocation-by-site, top 8)</summary>", "", "```")
            self.w(*table_rows(v["views"].get("allocation-by-site", ""), 8))
            self.w("```", "</details>", "")
        if os.path.exists(NOTES):
            with open(NOTES) as fh:
                self.w(fh.read().rstrip(), "")


def table_rows(text, n):
    """The data rows of a `jfr view` table (after its dashed rule), right-trimmed."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("---"):
            return [re.sub(r"\s{3,}", "   ", l.rstrip()) for l in lines[i + 1:i + 1 + n] if l.strip()]
    return lines[:n]


import re  # noqa: E402  (used by table_rows)

# What limits a target that was missed, from the JFR analysis (see PROFILE-NOTES.md); shown only when missed.
LIMITS = {}
try:
    import json as _json
    with open(os.path.join(BENCH, "lib", "limits.json")) as _fh:
        LIMITS = _json.load(_fh)
except (OSError, ValueError):
    pass


def write(saved, path):
    text = Report(saved).render()
    with open(path, "w") as fh:
        fh.write(text)
