"""Renders bench/RESULTS.md from the samples bench.py collected (bench/results.json), and the headline table for
README's "Performance" section (bench/README-table.md)."""
import json
import os
import re
import statistics

MIB = 1024 * 1024
BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTES = os.path.join(BENCH, "PROFILE-NOTES.md")
PATHS = ("direct", "ssh -R", "tunnel")

# What limits a target that was missed, from the JFR analysis (see PROFILE-NOTES.md); shown only when missed.
LIMITS = {}
try:
    with open(os.path.join(BENCH, "lib", "limits.json")) as _fh:
        LIMITS = json.load(_fh)
except (OSError, ValueError):
    pass


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


def verdict(ok):
    return "not measured" if ok is None else ("met" if ok else "**missed**")


class Report:
    def __init__(self, saved):
        self.d = saved["data"]
        self.x = saved["extra"]
        self.out = []
        self.mach = self.x.get("machine", {})
        self.close = f"close.c{self.mach.get('close_conns', 50)}"

    def m(self, key, scale=1.0):
        v = med(self.d.get(key))
        return None if v is None else v * scale

    def w(self, *lines):
        self.out.extend(lines)

    # --- figures -----------------------------------------------------------------------------------------------

    def cpu(self, unit, workload, path, group="fwd"):
        """Median CPU per GB (unit "gb", CPU-s) or per request (unit "req", CPU-µs) of one group of processes."""
        return self.m(f"cpu_{unit}.{workload}.{path}.{group}")

    def cpu_all(self, unit, workload, path):
        """Forwarder + server + client: everything the path costs (direct: server + client)."""
        parts = [self.cpu(unit, workload, path, g) for g in ("fwd", "server", "client")]
        if parts[1] is None or parts[2] is None:
            return None
        return sum(p for p in parts if p is not None)

    def targets(self):
        """(key, target, figure, ok) for every target of issue 13, in its order."""
        rows = []

        def row(key, target, figure, ok):
            rows.append((key, target, figure, ok))

        cl = self.close
        nc = {p: self.m(f"{cl}.{p}.rps") for p in PATHS}
        r = ratio(nc["tunnel"], nc["ssh -R"])
        row("new-conn-vs-ssh", f"New connections (wrk `Connection: close`, c{self.mach.get('close_conns', 50)}, nginx behind EXPOSE) ≥ 3× `ssh -R` req/s",
            f"{f(nc['tunnel'], 0)} vs {f(nc['ssh -R'], 0)} req/s = {rx(r)}", None if r is None else r >= 3)
        r = ratio(nc["tunnel"], nc["direct"])
        row("new-conn-vs-direct", "New connections ≥ 0.3× direct req/s",
            f"{f(nc['tunnel'], 0)} vs {f(nc['direct'], 0)} req/s = {rx(r)}", None if r is None else r >= 0.3)

        ct, cs = self.cpu("gb", "iperf.p1", "tunnel"), self.cpu("gb", "iperf.p1", "ssh -R")
        r = ratio(ct, cs)
        row("bulk-pull-cpu-vs-ssh", "Bulk through PULL, 1 stream: CPU per GB ≤ 0.8× `ssh -R` (whole process trees, aes128-gcm)",
            f"{f(ct)} vs {f(cs)} CPU-s/GB = {rx(r)}", None if r is None else r <= 0.8)
        p1, p1s, p1d = (self.m(f"iperf.p1.{p}") for p in ("tunnel", "ssh -R", "direct"))
        r = ratio(p1, p1s)
        row("bulk-pull-vs-ssh", "Bulk through PULL, 1 stream: throughput ≥ 1.2× `ssh -R`",
            f"{f(p1)} vs {f(p1s)} Gbit/s = {rx(r)}", None if r is None else r >= 1.2)
        r = ratio(p1, p1d)
        row("bulk-pull-vs-direct", "Bulk through PULL, 1 stream: throughput ≥ 0.33× direct",
            f"{f(p1)} vs {f(p1d)} Gbit/s = {rx(r)}", None if r is None else r >= 0.33)
        p1r = self.m("iperf.p1R.tunnel")
        r = ratio(p1r, p1)
        row("bulk-reverse-vs-forward", "Bulk, the `-R` direction (laptop → container) within 15% of the forward one (≥ 0.85×)",
            f"{f(p1r)} vs {f(p1)} Gbit/s = {rx(r)}", None if r is None else r >= 0.85)
        dl = self.m("download.tunnel")
        r = ratio(dl, p1)
        row("download-vs-forward", "EXPOSE download (laptop → visitor) within 15% of PULL's forward direction (≥ 0.85×)",
            f"{f(dl)} vs {f(p1)} Gbit/s = {rx(r)}", None if r is None else r >= 0.85)

        ct, cs = self.cpu("req", "wrk.c50", "tunnel"), self.cpu("req", "wrk.c50", "ssh -R")
        r = ratio(ct, cs)
        row("http-c50-cpu-vs-ssh", "HTTP keep-alive, c50: CPU per request ≤ 1.0× `ssh -R`",
            f"{f(ct, 1)} vs {f(cs, 1)} CPU-µs/request = {rx(r)}", None if r is None else r <= 1.0)
        c50, c50d = self.m("wrk.c50.tunnel.rps"), self.m("wrk.c50.direct.rps")
        r = ratio(c50, c50d)
        row("http-c50-vs-direct", "HTTP keep-alive, c50: ≥ 0.4× direct req/s",
            f"{f(c50, 0)} vs {f(c50d, 0)} req/s = {rx(r)}", None if r is None else r >= 0.4)
        c200, c200s = self.m("wrk.c200.tunnel.rps"), self.m("wrk.c200.ssh -R.rps")
        r = ratio(c200, c200s)
        row("http-c200-vs-ssh", "HTTP keep-alive, c200: ≥ 1.2× `ssh -R` req/s",
            f"{f(c200, 0)} vs {f(c200s, 0)} req/s = {rx(r)}", None if r is None else r >= 1.2)
        p99, p99d = self.m("wrk.c1.tunnel.p99_us"), self.m("wrk.c1.direct.p99_us")
        added = None if p99 is None or p99d is None else (p99 - p99d) / 1000
        row("http-c1-p99", "HTTP keep-alive, c1: p99 added ≤ 1 ms over direct",
            f"{f(p99 / 1000 if p99 else None)} vs {f(p99d / 1000 if p99d else None)} ms = +{f(added)} ms",
            None if added is None else added <= 1.0)

        rss = self.m("kit.idle_shipped.rss")
        sk = self.x.get("shipped_kit", {})
        aot = "" if not sk else (" incl. AOT cache" if sk.get("aot") else ", **without** the AOT cache")
        row("rss-idle", "Kit RSS idle ≤ 80 MB with the shipped flags",
            f"{f(rss / 1e6 if rss else None, 1)} MB ({f(rss / MIB if rss else None, 1)} MiB; image flags{aot})",
            None if rss is None else rss <= 80e6)
        used, fresh = self.m("idle_used.10000.heap_per_stream"), self.m("idle.10000.heap_per_stream")
        kib = self.mach.get("idle_data_kib")
        row("idle-10k-heap", "10,000 idle streams: ≤ 16 KiB kit heap each (streams that carried data, and fresh ones)",
            f"after {kib} KiB each way: {f(used / 1024 if used else None)} KiB; fresh: {f(fresh / 1024 if fresh else None)} KiB",
            None if used is None and fresh is None else all(v <= 16 * 1024 for v in (used, fresh) if v is not None))
        errs = (self.d.get("idle.10000.errors") or []) + (self.d.get("idle_used.10000.errors") or [])
        row("idle-10k-errors", "10,000 concurrent idle streams on one session, zero errors",
            "errors per run: " + (", ".join(str(e) for e in errs) if errs else "—"),
            None if not errs else all(e == 0 for e in errs))
        return rows

    # --- sections ----------------------------------------------------------------------------------------------

    def header(self):
        mach = self.mach
        sk = self.x.get("shipped_kit", {})
        sysctl = mach.get("sysctl", {})
        self.w("# hoody-tunnel benchmark results", "",
               "Written by `bench/run.sh` (see [bench/README.md](README.md)); every figure is the **median** of "
               f"{mach.get('reps', 3)} runs unless said otherwise, and every ratio compares medians measured **in this same run**. "
               "CPU time per GB and per request (read from /proc for whole process trees, see "
               "[What the CPU figures count](#what-the-cpu-figures-count)) is the primary figure: it is steadier than throughput "
               "on a shared machine. Raw samples: [results.json](results.json); JFR summaries: [profile/](profile/).", "")
        self.w("## Machine and run", "",
               "| | |", "|---|---|",
               f"| date | {mach.get('date')} |",
               f"| commit | `{mach.get('commit')}` (branch `{mach.get('branch')}`{', **src/ has local changes**' if mach.get('src_dirty') else ''}) |",
               f"| machine | {mach.get('nproc')} cores ({mach.get('cpu')}), {mach.get('ram_gib')} GiB RAM, kernel {mach.get('kernel')} |",
               f"| JDK | {mach.get('jdk')} |",
               f"| kit (throughput, latency, idle streams) | `java {mach.get('kit_jvm')} -jar target/quarkus-app/quarkus-run.jar`, drivers `java -jar … pull/expose` |",
               (f"| kit (idle RSS target) | the image's flags, read from {', '.join(sk.get('sources', []))}: `{sk.get('flags')}`"
                + (f" ({sk['note']})" if sk.get("note") else "") + " |") if sk else "| kit (idle RSS target) | not run |",
               f"| tools | {mach.get('iperf3')}; {mach.get('wrk')}; nginx {mach.get('nginx')} (1 worker, `access_log off`, sendfile); {mach.get('openssh')}; Python {mach.get('python')} |",
               f"| `ssh -R` | throw-away `sshd -D -f` on a free loopback port, throw-away ed25519 keys, cipher `{mach.get('ssh_cipher')}` (explicit `-c`), one `ssh -N -R … -R …` for both forwards |",
               f"| runs | {mach.get('reps')} × {mach.get('secs')} s per iperf3/wrk figure, paths interleaved (direct, ssh -R, tunnel) in every repetition; JIT warm-up of each path first |",
               f"| TCP settings | `tcp_tw_reuse` {sysctl.get('net.ipv4.tcp_tw_reuse', '?')}, ephemeral ports {sysctl.get('net.ipv4.ip_local_port_range', '?')}, "
               f"`tcp_max_tw_buckets` {sysctl.get('net.ipv4.tcp_max_tw_buckets', '?')}, `somaxconn` {sysctl.get('net.core.somaxconn', '?')}; ulimit -n {mach.get('nofile')} |",
               f"| wall time | {f(self.x.get('elapsed_s', 0) / 60, 1)} min |",
               f"| other load | this machine is shared: processes not started by the bench used "
               + ", ".join(f"{p['foreign_cores']:.2f} cores during {p['phase']}" for p in self.x.get("foreign_cpu", []))
               + f" (before start: {self.x.get('busy_before_start', '?')}); figures taken while others were busy are noisier, "
               "throughput more than CPU per unit of work |", "")

    def targets_section(self):
        rows = self.targets()
        met = sum(1 for r in rows if r[3])
        measured = sum(1 for r in rows if r[3] is not None)
        self.w("## Targets (issue 13)", "",
               f"{met} of {measured} measured targets met. Ratios are taken within this run; CPU is kit + driver for the "
               "tunnel and ssh client + sshd (listener and its per-connection processes) for `ssh -R`.", "",
               "| target | figure (medians) | result | what limits it |", "|---|---|---|---|")
        for key, target, figure, ok in rows:
            why = LIMITS.get(key, "") if ok is False else ""
            self.w(f"| {target} | {figure} | {verdict(ok)} | {why} |")
        self.w("")

    def bulk(self):
        mach = self.mach
        self.w("## 1. Bulk TCP", "",
               f"iperf3 (`-t {mach.get('secs')}`) and a {mach.get('download_mib')} MiB HTTP download from nginx with curl. "
               "*tunnel* = container client → kit PULL port → WebSocket → driver → iperf3 server on the laptop side; `-R` "
               "reverses the direction (driver → kit); the download goes nginx → driver → kit → EXPOSE port → curl.", "",
               "**Forwarding CPU per GB moved** (CPU-seconds; tunnel: kit + driver; `ssh -R`: ssh client + sshd with its session "
               "process) and throughput (Gbit/s received):", "",
               "| workload | CPU-s/GB ssh -R | CPU-s/GB tunnel | tunnel ÷ ssh -R | Gbit/s direct | Gbit/s ssh -R | Gbit/s tunnel | tunnel ÷ ssh -R | tunnel ÷ direct |",
               "|---|---|---|---|---|---|---|---|---|")
        cases = (("iperf.p1", "iperf3 1 stream (PULL)"), ("iperf.p8", "iperf3 8 streams, `-P 8` (PULL)"),
                 ("iperf.p1R", "iperf3 1 stream, reverse `-R` (PULL)"), ("download", "HTTP download (EXPOSE)"))
        for wl, name in cases:
            cs, ct = self.cpu("gb", wl, "ssh -R"), self.cpu("gb", wl, "tunnel")
            d, s, t = (self.m(f"{wl}.{p}") for p in PATHS)
            self.w(f"| {name} | {f(cs)} | {f(ct)} | {rx(ratio(ct, cs))} | {f(d)} | {f(s)} | {f(t)} | {rx(ratio(t, s))} | {rx(ratio(t, d))} |")
        self.w("", "Everything each path costs, CPU-s/GB: forwarder + server (iperf3 -s, or nginx master + worker) + client "
               "(iperf3 -c, or curl); *direct* has no forwarder, so its figure is what the two ends cost by themselves:", "",
               "| workload | direct (server + client) | ssh -R: forwarder + server + client | tunnel: forwarder + server + client | forwarder cores busy ssh -R / tunnel |",
               "|---|---|---|---|---|")
        for wl, name in cases:
            cells = []
            for p in PATHS:
                parts = [self.cpu("gb", wl, p, g) for g in ("fwd", "server", "client")]
                total = self.cpu_all("gb", wl, p)
                if p == "direct":
                    cells.append(f"{f(total)} ({f(parts[1])} + {f(parts[2])})")
                else:
                    cells.append(f"{f(total)} ({f(parts[0])} + {f(parts[1])} + {f(parts[2])})")
            cores = f"{f(self.m(f'cores.{wl}.ssh -R.fwd'))} / {f(self.m(f'cores.{wl}.tunnel.fwd'))}"
            self.w(f"| {name} | {' | '.join(cells)} | {cores} |")
        self.w("")

    def http_table(self, workloads):
        self.w("| connections | path | forwarder CPU-µs/request | ÷ ssh -R | req/s | ÷ direct | ÷ ssh -R | p50 | p99 | p99.9 | errors (sum) | server + client CPU-µs/request |",
               "|---|---|---|---|---|---|---|---|---|---|---|---|")
        for wl, c in workloads:
            rd, rs = self.m(f"{wl}.direct.rps"), self.m(f"{wl}.ssh -R.rps")
            cs = self.cpu("req", wl, "ssh -R")
            for p in PATHS:
                r = self.m(f"{wl}.{p}.rps")
                cpu = self.cpu("req", wl, p) if p != "direct" else None
                ends = [self.cpu("req", wl, p, g) for g in ("server", "client")]
                errs = self.d.get(f"{wl}.{p}.errors") or []
                self.w(f"| {c} | {p} | {f(cpu, 1) if p != 'direct' else ''} | {rx(ratio(cpu, cs)) if p == 'tunnel' else ''} | "
                       f"{f(r, 0)} | {rx(ratio(r, rd)) if p != 'direct' else ''} | {rx(ratio(r, rs)) if p == 'tunnel' else ''} | "
                       f"{f(self.m(f'{wl}.{p}.p50_us', 1e-3))} | {f(self.m(f'{wl}.{p}.p99_us', 1e-3))} | "
                       f"{f(self.m(f'{wl}.{p}.p999_us', 1e-3))} | {sum(errs)} | "
                       f"{f(ends[0], 1)} + {f(ends[1], 1)} |")
        self.w("")

    def http(self):
        mach = self.mach
        self.w("## 2. HTTP keep-alive through EXPOSE (wrk, tiny static page from nginx)", "",
               f"`wrk -t2 -cN -d{mach.get('secs')}s --latency` (`-t1` for 1 connection) with [lib/latency.lua](lib/latency.lua) "
               "for p99.9; latencies in ms. Forwarder CPU: kit + driver (tunnel), ssh client + sshd tree (`ssh -R`).", "")
        self.http_table([(f"wrk.c{c}", c) for c in (1, 50, 200)])

    def new_connections(self):
        mach = self.mach
        c = mach.get("close_conns", 50)
        self.w("## 3. New connections through EXPOSE (wrk with `Connection: close`)", "",
               f"`wrk -t2 -c{c} -H 'Connection: close'`: every request opens a new visitor connection (nginx closes it after "
               "the response, wrk reconnects), so the tunnel opens and closes one stream per request, `ssh -R` one channel, "
               "and the forwarder one connection to nginx.", "")
        self.http_table([(self.close, c)])
        tw = [t for t in self.x.get("time_wait", []) if t.get("workload") == self.close]
        if tw:
            self.w("TIME_WAIT sockets after each run (machine-wide; *visitor hop* = wrk ↔ the port wrk connects to, split by "
                   "which end holds the TIME_WAIT; wrk's connect errors are the symptom of running out of ephemeral ports):", "",
                   "| path | run | all | visitor hop, server end | visitor hop, wrk's end | nginx's end | connections to nginx, client end | wrk connect errors |",
                   "|---|---|---|---|---|---|---|---|")
            for t in tw:
                a = t["after"]
                self.w(f"| {t['path']} | {t['rep']} | {a['total']:,} | {a['visitor_server_side']:,} | {a['visitor_client_side']:,} | "
                       f"{a['nginx_side']:,} | {a['to_nginx_client_side']:,} | {t['connect_errors']} |")
            self.w("")

    def idle(self):
        kib = self.mach.get("idle_data_kib")
        self.w("## 4. Concurrent idle streams on one session", "",
               "A Python asyncio client ([lib/idle_client.py](lib/idle_client.py)) opens N connections to one PULL port; the "
               "driver's target ([lib/idle_server.py](lib/idle_server.py)) accepts and holds them. *fresh*: only opened; "
               f"*used*: every stream first echoes {kib} KiB each way through the tunnel (its read buffers grow as after real "
               f"traffic), then idles. Counted as open when the kit's stream count (`{self.x.get('streams_source', '?')}`) and "
               "the target's established connections (`ss`) both reach N; then kit RSS, a full GC (`jcmd GC.run`) and heap used "
               "(`jcmd GC.heap_info`); then one byte is echoed through every stream to prove it is still alive; then all are "
               "closed. Heap per stream = (heap with N − heap before) ÷ N, both after a full GC. This phase runs last, on a "
               "fresh kit; RSS growth is taken from the first run of each N and kind, since a JVM keeps the memory it once "
               "touched and later runs grow less.", "",
               "| streams | kind | errors per run | open all (s) | kit heap / stream | kit RSS growth / stream (1st run) | driver RSS growth / stream (1st run) | kit RSS with N open | kit heap with N open |",
               "|---|---|---|---|---|---|---|---|---|")
        ns = sorted({int(k.split(".")[1]) for k in self.d if k.startswith(("idle.", "idle_used."))})
        for n in ns:
            for kind, label in (("idle", "fresh"), ("idle_used", f"used ({kib} KiB each way)")):
                errs = self.d.get(f"{kind}.{n}.errors")
                if not errs:
                    continue
                self.w(f"| {n:,} | {label} | {', '.join(str(e) for e in errs)} | {f(self.m(f'{kind}.{n}.open_s'))} | "
                       f"{f(self.m(f'{kind}.{n}.heap_per_stream', 1 / 1024))} KiB | {f(first(self.d.get(f'{kind}.{n}.rss_per_stream')), 2)} KiB | "
                       f"{f(first(self.d.get(f'{kind}.{n}.driver_rss_per_stream')), 2)} KiB | {f(self.m(f'{kind}.{n}.kit_rss', 1 / MIB), 1)} MiB | "
                       f"{f(self.m(f'{kind}.{n}.kit_heap', 1 / MIB), 1)} MiB |")
        self.w("", "Per run (heap per stream, KiB): " + "; ".join(
            f"{n:,} {kind.replace('idle_used', 'used').replace('idle', 'fresh')}: {runs(self.d.get(f'{kind}.{n}.heap_per_stream'), 2, 1 / 1024)}"
            for n in ns for kind in ("idle", "idle_used") if self.d.get(f"{kind}.{n}.heap_per_stream")), "")

    def memory(self):
        mach = self.mach
        sk = self.x.get("shipped_kit", {})
        self.w("## 5. Kit memory and time to first byte", "",
               "Idle: a fresh kit, one session with one PULL binding, no traffic, RSS 5 s after BIND_OK.", "",
               "| figure | median | runs |", "|---|---|---|")
        if self.d.get("kit.idle_shipped.rss"):
            used = self.d.get("kit.idle_shipped.aot_used")
            aot = ("with the AOT cache (trained here as the Dockerfile does; mapped in "
                   f"{sum(1 for u in used if u)} of {len(used)} runs)" if used else "without the AOT cache")
            self.w(f"| **kit RSS idle, shipped flags** (`{sk.get('flags')}`, {sk.get('jar')}, {aot}) | "
                   f"{f(self.m('kit.idle_shipped.rss', 1 / MIB), 1)} MiB | {runs(self.d.get('kit.idle_shipped.rss'), 1, 1 / MIB)} |",
                   f"| … heap used after a full GC at that point | {f(self.m('kit.idle_shipped.heap', 1 / MIB), 1)} MiB | {runs(self.d.get('kit.idle_shipped.heap'), 1, 1 / MIB)} |",
                   f"| … kit start to ready (`/q/health/ready` 200) | {f(self.m('kit.idle_shipped.ready_s'))} s | {runs(self.d.get('kit.idle_shipped.ready_s'))} |")
        if self.d.get("kit.idle.rss"):
            self.w(f"| kit RSS idle with the bench's kit flags (`{mach.get('kit_jvm')}`, G1) | "
                   f"{f(self.m('kit.idle.rss', 1 / MIB), 1)} MiB | {runs(self.d.get('kit.idle.rss'), 1, 1 / MIB)} |",
                   f"| … heap used after a full GC at that point | {f(self.m('kit.idle.heap', 1 / MIB), 1)} MiB | {runs(self.d.get('kit.idle.heap'), 1, 1 / MIB)} |")
        if self.d.get("kit.idle_variant.rss"):
            self.w(f"| kit RSS idle with `{mach.get('rss_variant')}` added (informational) | "
                   f"{f(self.m('kit.idle_variant.rss', 1 / MIB), 1)} MiB | {runs(self.d.get('kit.idle_variant.rss'), 1, 1 / MIB)} |")
        self.w(f"| kit RSS under load: peak during `wrk -c200` through EXPOSE (sampled every 100 ms, bench's kit flags) | "
               f"{f(self.m('kit.load.rss_peak', 1 / MIB), 1)} MiB | {runs(self.d.get('kit.load.rss_peak'), 1, 1 / MIB)} |",
               f"| time from driver start (`java -jar … expose`) to the first HTTP 200 through its port (kit warm) | "
               f"{f(self.m('ttfb.ms'), 0)} ms | {runs(self.d.get('ttfb.ms'), 0)} |",
               f"| … of which driver start to `bind_ok` | {f(self.m('ttfb.bind_ok_ms'), 0)} ms | {runs(self.d.get('ttfb.bind_ok_ms'), 0)} |",
               "")

    def shards(self):
        s = self.x.get("shards")
        self.w("## 6. v1 vs v2: many parallel streams, with one slow socket", "")
        if not s:
            self.w("Not run (`--phases` without `shards`).", "")
            return
        if not s.get("available"):
            self.w(s.get("note", "Not available."), "")
            return
        self.w(f"Per variant a PULL driver (iperf3 `-P {s['streams']}`: aggregate throughput and the slowest stream) and an "
               f"EXPOSE driver (`wrk -c{s['conns']}` on the tiny page: req/s, p50, p99), both connected to the kit through "
               "[lib/slow_proxy.py](lib/slow_proxy.py). *normal*: every socket relayed as is; *slow*: the driver's socket "
               f"number {s['slow_index']} (in connect order) is read at {s['slow_rate_kib']} KiB/s each way, and the relay's socket "
               f"to the kit has a {s['slow_rcvbuf']}-byte receive buffer. Variants: "
               + ", ".join(f"{n} (`{e or 'no extra flags'}`)" for n, e in s["variants"]) + ".", "",
               "| mode | variant | Gbit/s (sum) | slowest stream Gbit/s | kit + driver CPU-s/GB | req/s | p50 ms | p99 ms | kit + driver CPU-µs/request | errors |",
               "|---|---|---|---|---|---|---|---|---|---|")
        for mode in ("normal", "slow"):
            for name, _ in s["variants"]:
                k = f"shards.{mode}.{name}"
                self.w(f"| {mode} | {name} | {f(self.m(k + '.gbps'))} | {f(self.m(k + '.stream_min_gbps'), 3)} | "
                       f"{f(self.m(f'cpu_gb.{k}.iperf.tunnel.fwd'))} | {f(self.m(k + '.rps'), 0)} | "
                       f"{f(self.m(k + '.p50_us', 1e-3))} | {f(self.m(k + '.p99_us', 1e-3))} | "
                       f"{f(self.m(f'cpu_req.{k}.wrk.tunnel.fwd'), 1)} | {sum(self.d.get(k + '.errors') or [])} |")
        for fail in s.get("failures", []):
            self.w(f"- failed: {fail['mode']} {fail['variant']} run {fail['rep']}: {fail['error']}")
        self.w("")

    def counted(self):
        self.w("## What the CPU figures count", "",
               "Before and after each measured run the bench reads `/proc/<pid>/stat` of every process and sums "
               "utime + stime (all threads) + cutime + cstime (children that exited and were reaped) over whole process "
               "trees (a root and all its descendants by parent pid); the difference is the CPU the tree used during the "
               "run. A child that exits mid-run moves its time into its parent's cutime, so nothing is lost.", "",
               "- **forwarder** — tunnel: the kit JVM + the driver JVM carrying the workload; `ssh -R`: the `ssh` client + the "
               "listening `sshd` and all its descendants. sshd forks a process per connection and that process calls "
               "`setsid()`, so it is in neither the listener's process group nor its session: it has to be found by parent "
               "pid. It does the forwarding and the AES-GCM, and uses more CPU than the client (the listener uses none).",
               "- **server** — `iperf3 -s`, or nginx's master + worker.",
               "- **client** — iperf3 -c, wrk or curl (the bench's own children, from `os.times()`).",
               "- Not counted anywhere: kernel time in softirq/irq (loopback TCP receive processing mostly runs there on "
               "this kernel and is charged to no process); it is the same kind of cost for every path.", "")
        seen = self.x.get("cpu_counted", {})
        rows = [(k, g, r) for k in ("iperf.p1.ssh -R", "iperf.p1.tunnel", f"{self.close}.ssh -R") for g, rr in seen.get(k, {}).items()
                for r in rr]
        if rows:
            self.w("Processes counted (first run of each workload; CPU-s = each process's total since it started):", "",
                   "| workload and path | group | pid | command | CPU-s |", "|---|---|---|---|---|")
            for k, g, r in rows:
                self.w(f"| {k} | {g} | {r['pid']} | `{r['cmd'][:70]}` | {r['cpu_s_total']} |")
            self.w("")

    def render(self):
        self.header()
        self.targets_section()
        self.bulk()
        self.http()
        self.new_connections()
        self.idle()
        self.memory()
        self.shards()
        self.counted()
        self.profile()
        return "\n".join(self.out) + "\n"

    # --- README headline table ---------------------------------------------------------------------------------

    def readme_table(self):
        mach = self.mach
        rows = ["| workload | figure | direct | `ssh -R` | hoody-tunnel | tunnel ÷ `ssh -R` | tunnel ÷ direct |",
                "|---|---|---|---|---|---|---|"]

        def add(name, what, d, s, t, fmt, lower_better=False):
            rows.append(f"| {name} | {what} | {fmt(d) if d is not None else ''} | {fmt(s)} | {fmt(t)} | {rx(ratio(t, s))} | "
                        f"{rx(ratio(t, d)) if d is not None else ''} |")

        gb = lambda v: "—" if v is None else f"{v:.2f} CPU-s/GB"  # noqa: E731
        gbit = lambda v: "—" if v is None else f"{v:.1f} Gbit/s"  # noqa: E731
        us = lambda v: "—" if v is None else f"{v:.0f} CPU-µs"  # noqa: E731
        rps = lambda v: "—" if v is None else f"{v:,.0f} req/s"  # noqa: E731
        ms = lambda v: "—" if v is None else f"{v / 1000:.2f} ms"  # noqa: E731
        for wl, name in (("iperf.p1", "bulk TCP, 1 stream (iperf3 through PULL)"),
                         ("iperf.p1R", "bulk TCP, 1 stream, laptop → container (iperf3 `-R` through PULL)"),
                         ("download", f"HTTP download, {mach.get('download_mib')} MiB (curl ← nginx through EXPOSE)")):
            add(name, "forwarding CPU per GB", None, self.cpu("gb", wl, "ssh -R"), self.cpu("gb", wl, "tunnel"), gb)
            add("", "throughput", *(self.m(f"{wl}.{p}") for p in PATHS), gbit)
        add("HTTP keep-alive, 50 connections (wrk → nginx through EXPOSE)", "forwarding CPU per request", None,
            self.cpu("req", "wrk.c50", "ssh -R"), self.cpu("req", "wrk.c50", "tunnel"), us)
        add("", "requests", *(self.m(f"wrk.c50.{p}.rps") for p in PATHS), rps)
        add("HTTP keep-alive, 200 connections", "requests", *(self.m(f"wrk.c200.{p}.rps") for p in PATHS), rps)
        p99 = [self.m(f"wrk.c1.{p}.p99_us") for p in PATHS]
        added = lambda v: ms(v) + ("" if v is None or p99[0] is None else f" (+{(v - p99[0]) / 1000:.2f} ms)")  # noqa: E731
        rows.append(f"| HTTP keep-alive, 1 connection | p99 latency (added over direct) | {ms(p99[0])} | {added(p99[1])} | "
                    f"{added(p99[2])} | | |")
        c = mach.get("close_conns", 50)
        add(f"new connections, {c} at a time (wrk `Connection: close`)", "forwarding CPU per request", None,
            self.cpu("req", self.close, "ssh -R"), self.cpu("req", self.close, "tunnel"), us)
        add("", "requests", *(self.m(f"{self.close}.{p}.rps") for p in PATHS), rps)
        used, fresh = self.m("idle_used.10000.heap_per_stream"), self.m("idle.10000.heap_per_stream")
        errs = (self.d.get("idle.10000.errors") or []) + (self.d.get("idle_used.10000.errors") or [])
        if used is not None or fresh is not None:
            rows.append(f"| 10,000 idle streams on one session | kit heap per stream | | | "
                        f"{f(used / 1024 if used else None, 1)} KiB after {mach.get('idle_data_kib')} KiB each way, "
                        f"{f(fresh / 1024 if fresh else None, 1)} KiB fresh; {sum(errs)} errors | | |")
        rss, rssb = self.m("kit.idle_shipped.rss"), self.m("kit.idle.rss")
        if rss or rssb:
            shipped = "image flags + AOT cache" if self.x.get("shipped_kit", {}).get("aot") else "image flags (no AOT cache)"
            rows.append(f"| kit RSS idle | {shipped} / `{mach.get('kit_jvm')}` | | | "
                        f"{f(rss / MIB if rss else None, 0)} MiB / {f(rssb / MIB if rssb else None, 0)} MiB | | |")
        ttfb = self.m("ttfb.ms")
        if ttfb:
            rows.append(f"| driver start to first byte served | | | | {ttfb / 1000:.2f} s | | |")
        targets = self.targets()
        met = sum(1 for t in targets if t[3])
        measured = sum(1 for t in targets if t[3] is not None)
        return ("<!-- generated by bench/run.sh from bench/results.json "
                f"({mach.get('date')}, commit {str(mach.get('commit'))[:10]}): paste into README.md, section Performance -->\n\n"
                + "\n".join(rows) + "\n\n"
                + f"Medians of {mach.get('reps')} interleaved runs on {mach.get('nproc')} shared cores; CPU from /proc over whole "
                "process trees (tunnel: kit + driver; `ssh -R`: ssh + sshd with its per-connection process; cipher "
                f"{mach.get('ssh_cipher')}). Targets of issue 13: {met} of {measured} met — see "
                "[bench/RESULTS.md](bench/RESULTS.md).\n")

    def profile(self):
        self.w("## Profile", "")
        pull, expose, close = self.x.get("profile_pull"), self.x.get("profile_expose"), self.x.get("profile_close")
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
        if close:
            self.w(f"- **EXPOSE, wrk -c{close['conns']} with `Connection: close`, {close['wall_s']:.0f} s**: {close['rps']:,.0f} "
                   f"req/s (under JFR), p99 {close['p99_us'] / 1000:.2f} ms, kit+driver {close['cpu_s']:.1f} CPU-s = "
                   f"{close['cpu_s'] / max(close['requests'], 1) * 1e6:.0f} µs per request (= per new connection); context "
                   f"switches per request: kit {close['ctx']['kit'] / max(close['requests'], 1):.2f}, "
                   f"driver {close['ctx']['driver'] / max(close['requests'], 1):.2f}.")
        self.w("")
        views = self.x.get("profile_views", {})
        for base in sorted(views):
            v = views[base]
            cpu = v["cpu"]
            work = {"profile_pull": pull, "profile_expose": expose, "profile_close": close}.get(v["workload"])
            alloc = v.get("allocated")
            per = ""
            if alloc and work:
                if v["workload"] == "profile_pull":
                    per = f"; ≈{alloc / max(work['frames'], 1):,.0f} bytes allocated per 64 KiB DATA frame"
                else:
                    per = f"; ≈{alloc / max(work['requests'], 1):,.0f} bytes allocated per HTTP request"
            self.w(f"### {base}", "",
                   f"{cpu['samples']} samples of `{cpu['event_type']}`; Java heap allocation ≈ "
                   f"{(alloc or 0) / max((work or {}).get('wall_s', 1), 1) / 1e6:,.0f} MB/s{per}; `jdk.ThreadPark` events (≥ 20 ms, "
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


def write(saved, path, table_path=None):
    rep = Report(saved)
    text = rep.render()
    # The fault and soak sections (bench/faults/faults.py writes them between <!-- faults:MODE:begin/end --> markers)
    # come from other runs: carry them over instead of dropping them.
    try:
        with open(path) as fh:
            old = fh.read()
    except FileNotFoundError:
        old = ""
    kept = re.findall(r"<!-- faults:[a-z]+:begin -->\n.*?<!-- faults:[a-z]+:end -->\n", old, re.S)
    if kept:
        text = text.rstrip("\n") + "\n\n" + "\n".join(kept)
    with open(path, "w") as fh:
        fh.write(text)
    if table_path:
        with open(table_path, "w") as fh:
            fh.write(Report(saved).readme_table())
