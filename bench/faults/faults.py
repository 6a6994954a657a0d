#!/usr/bin/env python3
"""hoody-tunnel fault harness and soak (bench/faults/run.sh and soak.sh call this; standard library only).

Starts on 127.0.0.1 a kit, an EXPOSE driver in front of a web server (nginx) and a PULL driver in front of an echo
server, the drivers reaching the kit through a relay that can cut their WebSockets, and checked traffic
(traffic.py: every HTTP body and every echo compared byte by byte and by SHA-256). Then:

  faults  one phase per fault, traffic running: SIGKILL the drivers and start them again; kill the laptop targets
          and start them again; cut the drivers' WebSockets; SIGSTOP the drivers past the heartbeat timeout, then
          SIGCONT; restart the kit (SIGTERM); kill the kit (SIGKILL) and start it again. After each phase the traffic
          pauses and the kit must come back to its baseline: no stream, no buffered byte, one session per driver,
          descriptors, threads and heap (after a full GC) within the tolerances below.
  soak    --soak-secs (600) at --http-clients + --pull-clients (500 + 500) concurrent streams, no fault; kit and
          driver RSS, descriptors and threads, streams, requests and errors sampled every --sample-secs (10).

Exit status 0 only if nothing was silently corrupted, no request was stuck, nobody got an answer that is neither
success nor one of the documented failures, the traffic recovered after every fault, and nothing leaked.
"""
import argparse
import datetime
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
REPO = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(BENCH, "lib"))
import bench as B  # noqa: E402  (Proc, Driver, free_ports, rss_bytes, http_get, ADMIN_TOKEN, JAVA, JAR)
from traffic import OUTCOMES  # noqa: E402

MIB = 1024 * 1024

# What "back to baseline" allows, and why (documented in bench/README.md):
# - streams, buffered bytes, sessions: exact (0, 0, one per live driver): the kit's own books must balance.
# - descriptors: +FD_SLACK. After a fault a session may be served by a Vert.x/Netty event loop that had not been used
#   before, which opens its selector (epoll fd + wake-up pipe/eventfd) once and keeps it; the JDK opens jar and
#   /proc files now and then. A leak of one descriptor per stream or per session is far above this after thousands.
# - threads: +THREAD_SLACK. Pools grow under load and shrink only after their keep-alive (Quarkus' worker pool,
#   ForkJoin carriers of virtual threads, JIT compiler threads); the check waits up to SETTLE_SECS for them to go.
# - heap after a full GC: +max(HEAP_SLACK_MIB, HEAP_SLACK_RATIO × baseline): class loading and JIT metadata after a
#   new code path (the first reconnect, the first 502) and Netty's pooled arenas; a per-stream leak of even 1 KiB
#   after the ~10^4–10^5 streams of a run would exceed it.
FD_SLACK = 12
THREAD_SLACK = 12
HEAP_SLACK_MIB = 16
HEAP_SLACK_RATIO = 0.25
SETTLE_SECS = 120


def log(*a):
    B.log(*a)


class Traffic:
    """One traffic.py process; a reader thread keeps its latest cumulative counts."""

    def __init__(self, h, name, argv):
        self.proc = B.Proc(h, name, [sys.executable, os.path.join(HERE, "traffic.py")] + argv,
                           stdin=subprocess.PIPE, stdout_pipe=True)
        self.latest = {"counts": {}, "open": 0, "busy": 0, "samples": {}, "bytes": 0}
        self.paused = threading.Event()
        self.stopped = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.popen.stdout:
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if ev.get("event") == "stats":
                self.latest = ev
            elif ev.get("event") == "paused":
                self.latest = dict(self.latest, counts=ev["counts"], open=ev["open"])
                self.paused.set()
            elif ev.get("event") == "stopped":
                self.stopped.set()

    def send(self, word):
        self.proc.popen.stdin.write((word + "\n").encode())
        self.proc.popen.stdin.flush()


def metrics_values(text):
    """Prometheus text -> {name: summed value over all label sets}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m:
            try:
                out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
            except ValueError:
                pass
    return out


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def thread_count(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        return None


class Harness:
    def __init__(self, a):
        self.a = a
        self.work = tempfile.mkdtemp(prefix="hoody-faults.")
        self.procs = []
        self.traffic = []
        self.report = {"phases": [], "samples": [], "failures": []}
        soak = a.mode == "soak"
        self.n_bind = a.bindings if a.bindings else (4 if soak else 1)
        ports = B.free_ports(4 + 2 * self.n_bind)
        self.kit_port, self.relay_port, self.web_port, self.echo_port = ports[:4]
        self.expose_ports = ports[4:4 + self.n_bind]
        self.pull_ports = ports[4 + self.n_bind:]
        self.kit = self.relay = self.nginx = self.echo = None
        self.drivers = {}
        self.kit_env = {"QUARKUS_HTTP_PORT": str(self.kit_port), "QUARKUS_HTTP_HOST": "127.0.0.1",
                        "HOODY_TUNNEL_EXPOSE_HOST": "127.0.0.1", "HOODY_TUNNEL_ADMIN_TOKEN": B.ADMIN_TOKEN}
        if not soak:
            # Short clocks so that each fault plays out in seconds (the soak keeps the kit's defaults).
            self.kit_env.update({"HOODY_TUNNEL_HEARTBEAT_INTERVAL": f"{a.heartbeat_interval}s",
                                 "HOODY_TUNNEL_HEARTBEAT_TIMEOUT": f"{a.heartbeat_timeout}s",
                                 "HOODY_TUNNEL_TAKEOVER_GRACE": "10s", "HOODY_TUNNEL_SHUTDOWN_DRAIN": "3s"})
        log("work dir", self.work)

    # --- processes ---------------------------------------------------------------------------------------------

    def cleanup(self):
        for t in self.traffic:
            if t.proc.alive():
                try:
                    t.send("stop")
                    t.stopped.wait(10)
                except OSError:
                    pass
        for p in reversed(self.procs):
            try:
                if p.alive():
                    os.killpg(p.pid, signal.SIGCONT)  # a stopped process does not act on SIGTERM
                p.stop()
            except Exception as e:  # noqa: BLE001 - cleanup goes on
                log("stopping", p.name, "failed:", e)

    def make_files(self):
        d = os.path.join(self.work, "www")
        os.makedirs(d)
        sizes = self.a.files
        for spec in sizes.split(","):
            name, size = spec.split("=")
            with open(os.path.join(d, name), "wb") as f:
                f.write(random.randbytes(int(size)))
        self.www = d

    def start_nginx(self):
        d = os.path.join(self.work, "nginx")
        os.makedirs(d, exist_ok=True)
        for t in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(d, "tmp", t), exist_ok=True)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
worker_processes 1;
user root;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    default_type application/octet-stream;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 600s;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server {{
        listen 127.0.0.1:{self.web_port} backlog=4096;
        root {self.www};
    }}
}}
""")
        self.nginx = B.Proc(self, f"nginx-{len(self.procs)}", ["nginx", "-p", d, "-c", conf, "-g", "daemon off;"])
        B.wait_listening(self.web_port, what="nginx")

    def start_echo(self):
        self.echo = B.Proc(self, f"echo-{len(self.procs)}", [sys.executable, os.path.join(HERE, "echo_server.py"),
                                                             str(self.echo_port)])
        B.wait_listening(self.echo_port, what="echo server")

    def start_kit(self):
        name = f"kit-{len(self.procs)}"
        kit = B.Proc(self, name, [B.JAVA] + self.a.kit_jvm.split() + ["-jar", B.JAR], env=self.kit_env)
        deadline = time.monotonic() + 60
        while B.http_get(f"http://127.0.0.1:{self.kit_port}/q/health/ready", timeout=2)[0] != 200:
            if not kit.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"kit did not start (log {kit.log_path})")
            time.sleep(0.1)
        self.kit = kit
        log(f"kit up on {self.kit_port} (pid {kit.pid})")

    def start_relay(self):
        self.relay = B.Proc(self, "relay", [sys.executable, os.path.join(HERE, "relay.py"), str(self.relay_port),
                                            str(self.kit_port)])
        B.wait_listening(self.relay_port, what="relay")

    def kit_url(self):
        port = self.relay_port if self.relay else self.kit_port
        return f"http://127.0.0.1:{port}"

    def start_driver(self, which):
        if which == "expose":
            args = ["expose", f"127.0.0.1:{self.web_port}", "--port", str(self.expose_ports[0]), "--takeover"]
            for p in self.expose_ports[1:]:
                args += ["--also-expose", f"127.0.0.1:{self.web_port}={p}"]
        else:
            args = ["pull", f"127.0.0.1:{self.echo_port}", "--port", str(self.pull_ports[0])]
            for p in self.pull_ports[1:]:
                args += ["--also-pull", f"127.0.0.1:{self.echo_port}={p}"]
        d = B.Driver(self, f"driver-{which}-{len(self.procs)}", args + ["--kit", self.kit_url()])
        self.drivers[which] = d
        self.wait_events(d, "bind_ok", self.n_bind, 30)
        return d

    def wait_events(self, d, event, n, timeout, since=0):
        deadline = time.monotonic() + timeout
        while True:
            with d.cond:
                got = sum(1 for e in d.events[since:] if e.get("event") == event)
            if got >= n:
                return
            if not d.alive():
                raise RuntimeError(f"driver {d.name} exited ({d.popen.returncode}); log {d.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"driver {d.name}: {got} of {n} {event} events after {timeout}s; log {d.log_path}")
            time.sleep(0.1)

    def start_traffic(self):
        per = max(1, self.a.traffic_procs)
        common = ["--files", self.www, "--expose-ports", ",".join(map(str, self.expose_ports)),
                  "--pull-ports", ",".join(map(str, self.pull_ports)), "--pull-min", str(self.a.pull_min),
                  "--pull-max", str(self.a.pull_max), "--rounds-min", str(self.a.rounds_min), "--rounds-max",
                  str(self.a.rounds_max), "--think-ms", str(self.a.think_ms), "--timeout", str(self.a.stuck_secs),
                  "--weights", self.a.weights, "--report-every", "0.5"]
        for i in range(per):
            share = lambda n: n // per + (1 if i < n % per else 0)  # noqa: E731
            self.traffic.append(Traffic(self, f"traffic-{i}", common + [
                "--http-clients", str(share(self.a.http_clients)), "--pull-clients", str(share(self.a.pull_clients))]))

    # --- observation -------------------------------------------------------------------------------------------

    def counts(self):
        total = {}
        for t in self.traffic:
            for k, v in t.latest["counts"].items():
                total[k] = total.get(k, 0) + v
        return total

    def samples(self):
        out = {}
        for t in self.traffic:
            for k, v in t.latest.get("samples", {}).items():
                out.setdefault(k, []).extend(v)
        return out

    def open_conns(self):
        return sum(t.latest.get("open", 0) for t in self.traffic)

    def metrics(self):
        status, body = B.http_get(f"http://127.0.0.1:{self.kit_port}/api/v1/tunnel/metrics", timeout=5)
        return metrics_values(body.decode(errors="replace")) if status == 200 else None

    def heap_after_gc(self, pid):
        return Heap.after_gc(pid)

    def pause(self, timeout=90):
        for t in self.traffic:
            t.paused.clear()
            t.send("pause")
        deadline = time.monotonic() + timeout
        for t in self.traffic:
            if not t.paused.wait(max(0.1, deadline - time.monotonic())):
                raise RuntimeError(f"{t.proc.name} did not pause within {timeout}s (busy {t.latest.get('busy')})")

    def resume(self):
        for t in self.traffic:
            t.send("resume")

    def wait_ok(self, since, n, timeout):
        """Waits until both kinds of traffic have n more intact results than in `since`; returns seconds or None."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            c = self.counts()
            if all(c.get(f"{k}.ok", 0) - since.get(f"{k}.ok", 0) >= n for k in ("http", "pull")):
                return time.monotonic() - t0
            time.sleep(0.2)
        return None

    def proc_figures(self, pid):
        return dict(fds=fd_count(pid), threads=thread_count(pid), rss=B.rss_bytes(pid) if fd_count(pid) else None)

    def snapshot_baseline(self):
        """The kit's and the drivers' figures with no traffic (after the books balance), after a full GC."""
        self.settle_books(60)
        kit = self.proc_figures(self.kit.pid)
        kit["heap"] = self.heap_after_gc(self.kit.pid)
        self.base = {"kit": kit}
        for which, d in self.drivers.items():
            self.base[which] = dict(self.proc_figures(d.pid), pid=d.pid)
        log("baseline:", json.dumps(self.base))

    def settle_books(self, timeout):
        """Waits until the kit holds no stream, no buffered byte and exactly one session per driver."""
        deadline = time.monotonic() + timeout
        m = None
        while time.monotonic() < deadline:
            m = self.metrics()
            if m and m.get("hoody_tunnel_streams_active") == 0 and m.get("hoody_tunnel_memory_buffered_bytes", 0) == 0 \
                    and m.get("hoody_tunnel_sessions_active") == len(self.drivers):
                return m, None
            time.sleep(0.5)
        if m is None:
            return None, "the kit's metrics did not answer"
        return m, (f"after {timeout}s: streams_active {m.get('hoody_tunnel_streams_active')}, buffered "
                   f"{m.get('hoody_tunnel_memory_buffered_bytes')} bytes, sessions_active "
                   f"{m.get('hoody_tunnel_sessions_active')} (want 0, 0, {len(self.drivers)})")

    def check_idle(self, label):
        """After a phase, with the traffic paused: the kit (and every driver that was not replaced) back to baseline."""
        result = {"problems": []}
        t0 = time.monotonic()
        m, problem = self.settle_books(SETTLE_SECS)
        if problem:
            result["problems"].append(problem)
        result["books_s"] = round(time.monotonic() - t0, 1)
        base = self.base["kit"]
        procs = [("kit", self.kit.pid, base)] + [(w, d.pid, self.base[w]) for w, d in self.drivers.items()
                                                 if self.base.get(w, {}).get("pid") == d.pid]
        deadline = time.monotonic() + SETTLE_SECS
        while True:
            now = {name: self.proc_figures(pid) for name, pid, _ in procs}
            over = [(name, k) for name, _, b in procs for k, slack in (("fds", FD_SLACK), ("threads", THREAD_SLACK))
                    if now[name][k] is None or now[name][k] > b[k] + slack]
            if not over or time.monotonic() > deadline:
                break
            time.sleep(1)
        bases = {name: b for name, _, b in procs}
        for name, k in over:
            b = bases[name]
            result["problems"].append(f"{name} {k}: {now[name][k]} vs baseline {b[k]} (+{FD_SLACK if k == 'fds' else THREAD_SLACK} allowed) after {SETTLE_SECS}s")
        heap = self.heap_after_gc(self.kit.pid)
        heap_limit = base["heap"] + max(HEAP_SLACK_MIB * MIB, HEAP_SLACK_RATIO * base["heap"])
        if heap > heap_limit:
            # One more GC after a pause: a large object freed by a pool's timer shows up a few seconds late.
            time.sleep(5)
            heap = self.heap_after_gc(self.kit.pid)
            if heap > heap_limit:
                result["problems"].append(f"kit heap after full GC {heap / MIB:.1f} MiB vs baseline "
                                          f"{base['heap'] / MIB:.1f} MiB (limit {heap_limit / MIB:.1f} MiB)")
        result.update(kit=dict(now["kit"], heap=heap),
                      drivers={n: now[n] for n, _, _ in procs if n != "kit"},
                      settle_s=round(time.monotonic() - t0, 1))
        if m:
            result["fd_permits"] = m.get("hoody_tunnel_fd_permits_available")
        log(f"{label}: idle check {'OK' if not result['problems'] else 'FAILED: ' + '; '.join(result['problems'])}"
            f" — kit fds {now['kit']['fds']} (base {base['fds']}), threads {now['kit']['threads']} (base {base['threads']}),"
            f" heap {heap / MIB:.1f} MiB (base {base['heap'] / MIB:.1f})")
        return result

    def driver_events(self):
        out = {}
        for which, d in self.drivers.items():
            with d.cond:
                for e in d.events:
                    out[f"{which}.{e.get('event')}"] = out.get(f"{which}.{e.get('event')}", 0) + 1
        return out

    # --- faults ------------------------------------------------------------------------------------------------

    def fault_driver_sigkill(self):
        for d in self.drivers.values():
            os.killpg(d.pid, signal.SIGKILL)
        time.sleep(self.a.fault_secs)  # visitors meanwhile: 503 (parked EXPOSE port), refused (released PULL port)
        for which in list(self.drivers):
            self.start_driver(which)
        return "both drivers SIGKILLed, started again after %.1fs (EXPOSE with --takeover)" % self.a.fault_secs

    def fault_target_kill(self):
        os.killpg(self.nginx.pid, signal.SIGKILL)
        os.killpg(self.echo.pid, signal.SIGKILL)
        time.sleep(self.a.fault_secs)  # visitors meanwhile: 502 (the driver cannot connect)
        self.start_nginx()
        self.start_echo()
        return "nginx and the echo server SIGKILLed, started again after %.1fs" % self.a.fault_secs

    def fault_ws_cut(self):
        marks = {w: len(d.events) for w, d in self.drivers.items()}
        for i in range(self.a.cuts):
            os.kill(self.relay.pid, signal.SIGUSR1)
            if i + 1 < self.a.cuts:
                time.sleep(self.a.fault_secs)
        for w, d in self.drivers.items():
            self.wait_events(d, "resumed", 1, 60, since=marks[w])
        return f"the relay reset both drivers' WebSockets {self.a.cuts} times, {self.a.fault_secs}s apart; both resumed"

    def fault_sigstop(self):
        marks = {w: len(d.events) for w, d in self.drivers.items()}
        for d in self.drivers.values():
            os.killpg(d.pid, signal.SIGSTOP)
        stop_for = self.a.heartbeat_timeout + 3
        time.sleep(stop_for)
        for d in self.drivers.values():
            os.killpg(d.pid, signal.SIGCONT)
        for w, d in self.drivers.items():
            self.wait_events(d, "bind_ok", self.n_bind, 60, since=marks[w])
        return (f"both drivers SIGSTOPped for {stop_for}s (heartbeat timeout {self.a.heartbeat_timeout}s), then "
                "SIGCONT; both bound again on new sessions")

    def restart_kit(self, sig):
        marks = {w: len(d.events) for w, d in self.drivers.items()}
        old = self.kit
        os.killpg(old.pid, sig)
        try:
            old.popen.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(old.pid, signal.SIGKILL)
            old.popen.wait(10)
        self.procs.remove(old)
        old.log_file.close()
        self.start_kit()
        for w, d in self.drivers.items():
            self.wait_events(d, "bind_ok", self.n_bind, 90, since=marks[w])

    def fault_kit_restart(self):
        self.restart_kit(signal.SIGTERM)
        return "kit stopped with SIGTERM (drain 3s), a new kit started on the same port; both drivers bound again"

    def fault_kit_kill(self):
        self.restart_kit(signal.SIGKILL)
        return "kit SIGKILLed, a new kit started on the same port; both drivers bound again"

    # --- the two modes -----------------------------------------------------------------------------------------

    def setup(self):
        self.make_files()
        self.start_nginx()
        self.start_echo()
        self.start_kit()
        if self.a.mode == "faults":
            self.start_relay()
        self.start_driver("expose")
        self.start_driver("pull")
        self.start_traffic()

    def run_phase(self, name, fault, clean_end_expected):
        """Traffic before, the fault, traffic after; then pause and check. clean_end_expected: a peer died outright
        (the laptop target, the kit), so a clean close of a body that is short is the truth passed on, not a lie."""
        log(f"=== phase {name}")
        before = self.counts()
        self.resume()
        if self.wait_ok(before, self.a.warm_ok, 90) is None:
            self.report["failures"].append(f"{name}: no traffic flowed before the fault")
        t0 = time.monotonic()
        what = fault() if fault else "none (warm-up)"
        fault_s = time.monotonic() - t0
        after_fault = self.counts()
        rec = self.wait_ok(after_fault, self.a.recover_ok, self.a.recover_secs)
        if rec is None:
            self.report["failures"].append(f"{name}: traffic did not recover within {self.a.recover_secs}s")
        self.pause()
        after = self.counts()
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) - before.get(k, 0)}
        check = self.check_idle(name) if fault else None
        phase = dict(name=name, fault=what, fault_s=round(fault_s, 1), recovered_s=None if rec is None else round(rec, 1),
                     counts=delta, check=check, clean_end_expected=clean_end_expected)
        self.report["phases"].append(phase)
        bad = {k: v for k, v in delta.items() if OUTCOMES.get(k.split(".", 1)[1]) == "bad"}
        if bad:
            self.report["failures"].append(f"{name}: {bad}")
        if check and check["problems"]:
            self.report["failures"].append(f"{name}: " + "; ".join(check["problems"]))
        log(f"{name}: {what}; recovered in {rec if rec is None else round(rec, 1)}s; counts {json.dumps(delta)}")
        return phase

    def run_faults(self):
        self.setup()
        self.run_phase("warm-up", None, False)
        self.snapshot_baseline()
        phases = [("driver-sigkill", self.fault_driver_sigkill, False),
                  ("target-kill", self.fault_target_kill, True),
                  ("ws-cut", self.fault_ws_cut, False),
                  ("driver-sigstop", self.fault_sigstop, False),
                  ("kit-restart", self.fault_kit_restart, False),
                  ("kit-sigkill", self.fault_kit_kill, True)]
        only = set(self.a.phases.split(",")) if self.a.phases else None
        for name, fn, clean in phases:
            if only and name not in only:
                continue
            self.run_phase(name, fn, clean)
            if name == "driver-sigkill":
                # New driver processes: their figures become the baseline for the driver checks that follow.
                for which, d in self.drivers.items():
                    self.base[which] = dict(self.proc_figures(d.pid), pid=d.pid)
        self.report["samples_by_outcome"] = self.samples()
        self.report["driver_events"] = self.driver_events()

    def run_soak(self):
        self.setup()
        self.run_phase("warm-up", None, False)
        self.snapshot_baseline()
        self.resume()
        t0 = time.monotonic()
        last_counts, last_t = self.counts(), t0
        self.sample(0, last_counts, 0)
        while True:
            left = self.a.soak_secs - (time.monotonic() - t0)
            if left <= 0:
                break
            time.sleep(min(self.a.sample_secs, left))
            now = time.monotonic()
            c = self.counts()
            self.sample(now - t0, c, now - last_t, last_counts)
            last_counts, last_t = c, now
        self.pause()
        self.report["soak_counts"] = self.counts()
        self.report["end_check"] = self.check_idle("soak end")
        if self.report["end_check"]["problems"]:
            self.report["failures"].append("soak end: " + "; ".join(self.report["end_check"]["problems"]))
        bad = {k: v for k, v in self.report["soak_counts"].items() if not k.endswith(".ok")}
        if bad:
            self.report["failures"].append(f"soak: failed requests {bad}")
        self.report["samples_by_outcome"] = self.samples()
        self.report["driver_events"] = self.driver_events()

    def sample(self, t, counts, dt, prev=None):
        m = self.metrics() or {}
        ok = counts.get("http.ok", 0) + counts.get("pull.ok", 0)
        errors = sum(v for k, v in counts.items() if not k.endswith(".ok"))
        rate = None
        if prev is not None and dt:
            rate = (ok - prev.get("http.ok", 0) - prev.get("pull.ok", 0)) / dt
        row = dict(t=round(t), kit=self.proc_figures(self.kit.pid),
                   drivers={w: self.proc_figures(d.pid) for w, d in self.drivers.items()},
                   streams=m.get("hoody_tunnel_streams_active"), buffered=m.get("hoody_tunnel_memory_buffered_bytes"),
                   open=self.open_conns(), ok=ok, http_ok=counts.get("http.ok", 0), pull_ok=counts.get("pull.ok", 0),
                   errors=errors, rate=rate)
        self.report["samples"].append(row)
        log(f"t={row['t']}s kit rss {row['kit']['rss'] / MIB:.0f} MiB fds {row['kit']['fds']} threads "
            f"{row['kit']['threads']}; streams {row['streams']}; open {row['open']}; done {ok}; errors {errors}"
            + (f"; {rate:.0f}/s" if rate else ""))


class Heap:
    @staticmethod
    def after_gc(pid):
        jcmd = os.path.join(B.JAVA_HOME, "bin", "jcmd")
        B.run([jcmd, str(pid), "GC.run"], 60)
        out = B.run([jcmd, str(pid), "GC.heap_info"], 60).stdout
        used = [int(m.group(1)) for m in re.finditer(r"^\s*(?!Metaspace|class space)\S.*\btotal\b.*?\bused (\d+)K", out, re.M)]
        if not used:
            raise RuntimeError("GC.heap_info: " + out)
        return sum(used) * 1024


# --------------------------------------------------------------------------------------------------------------
# report

def git(*args):
    try:
        return subprocess.run(["git", "-C", REPO] + list(args), capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def verdict_lines(h):
    return ["**PASS**" if not h.report["failures"] else "**FAIL**: " + "; ".join(h.report["failures"])]


def render_faults(h, a, wall):
    r = h.report
    out = ["### Fault run", ""]
    out.append(f"`{a.command}` — {r['date']}, commit `{r['commit']}`{r['dirty']}, {wall / 60:.1f} min, "
               f"{a.http_clients} HTTP + {a.pull_clients} PULL clients, files {a.files}, echo payloads "
               f"{a.pull_min}–{a.pull_max} bytes × {a.rounds_min}–{a.rounds_max} rounds, kit `{a.kit_jvm}` with "
               f"heartbeat {a.heartbeat_interval}s/{a.heartbeat_timeout}s, takeover-grace 10s, shutdown-drain 3s.")
    out.append("")
    kinds = sorted({k.split(".", 1)[1] for p in r["phases"] for k in p["counts"]},
                   key=lambda o: (["ok", "visible", "bad"].index(OUTCOMES.get(o, "bad")), o))
    out.append("| phase | fault | recovered | " + " | ".join(f"{o}" for o in kinds) + " | kit after (fds / threads / heap) | back to baseline |")
    out.append("|---|---|---|" + "---|" * len(kinds) + "---|---|")
    for p in r["phases"]:
        cells = []
        for o in kinds:
            hv, pv = p["counts"].get(f"http.{o}", 0), p["counts"].get(f"pull.{o}", 0)
            cells.append(f"{hv} / {pv}" if hv or pv else "")
        c = p["check"]
        after = (f"{c['kit']['fds']} / {c['kit']['threads']} / {c['kit']['heap'] / MIB:.1f} MiB" if c else "(baseline: "
                 f"{h.base['kit']['fds']} / {h.base['kit']['threads']} / {h.base['kit']['heap'] / MIB:.1f} MiB)")
        ok = "—" if not c else ("yes" if not c["problems"] else "**no**: " + "; ".join(c["problems"]))
        rec = "" if p["recovered_s"] is None else f"{p['recovered_s']} s"
        out.append(f"| {p['name']} | {p['fault']} | {rec} | " + " | ".join(cells) + f" | {after} | {ok} |")
    out.append("")
    out.append("Cells are HTTP requests / PULL echo rounds. Outcomes: `ok` = status 200 (or the whole echo) with every "
               "byte and the SHA-256 checked; `status_5xx`, `reset`, `refused`, `eof_*`, `short_eof`, `close_reset` = "
               "failures the client sees (see bench/README.md); `corrupt`, `stuck`, `unexpected_status`, "
               "`bad_response` = must be 0.")
    short = [p["name"] for p in r["phases"] if not p["clean_end_expected"]
             and any(k.endswith((".short_eof", ".eof_no_status")) for k in p["counts"])]
    if short:
        out.append("")
        out.append(f"Clean closes of an unfinished answer in phases where no peer died outright ({', '.join(short)}): "
                   "PROTOCOL.md §7 promises a TCP reset there; the client still saw the failure by length.")
    out.append("")
    samples = r.get("samples_by_outcome", {})
    if samples:
        out.append("Examples of each failure the clients saw:")
        out.append("")
        for k in sorted(samples):
            for s in samples[k][:2]:
                out.append(f"- `{k}`: {s}")
        out.append("")
    out.append("Verdict: " + " ".join(verdict_lines(h)))
    return "\n".join(out) + "\n"


def render_soak(h, a, wall):
    r = h.report
    out = ["### Soak", ""]
    out.append(f"`{a.command}` — {r['date']}, commit `{r['commit']}`{r['dirty']}, {a.soak_secs / 60:.0f} min of traffic "
               f"({wall / 60:.1f} min in all), {a.http_clients} keep-alive HTTP clients over {h.n_bind} EXPOSE ports + "
               f"{a.pull_clients} PULL clients over {h.n_bind} PULL ports (= {a.http_clients + a.pull_clients} concurrent "
               f"streams), each pausing {a.think_ms:.0f} ms on average (0.5–1.5×) between requests / echo rounds; files "
               f"{a.files}; echo rounds {a.pull_min}–{a.pull_max} bytes, {a.rounds_min}–{a.rounds_max} rounds per "
               f"connection; kit `{a.kit_jvm}` with its default settings; drivers `java -jar … expose|pull` (JVM defaults).")
    out.append("")
    out.append("| t (s) | kit RSS MiB | kit fds | kit threads | EXPOSE driver RSS MiB / fds / threads | PULL driver RSS MiB / fds / threads | streams (kit) | client conns | done | per s | errors |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for s in r["samples"]:
        dr = lambda w: f"{s['drivers'][w]['rss'] / MIB:.0f} / {s['drivers'][w]['fds']} / {s['drivers'][w]['threads']}"  # noqa: E731
        out.append(f"| {s['t']} | {s['kit']['rss'] / MIB:.0f} | {s['kit']['fds']} | {s['kit']['threads']} | {dr('expose')} | "
                   f"{dr('pull')} | {'' if s['streams'] is None else int(s['streams'])} | {s['open']} | {s['ok']:,} | "
                   f"{'' if s['rate'] is None else round(s['rate'])} | {s['errors']} |")
    out.append("")
    c = r.get("soak_counts", {})
    out.append(f"Totals: {c.get('http.ok', 0):,} HTTP requests and {c.get('pull.ok', 0):,} echo rounds intact (SHA-256 "
               f"checked); failures: {json.dumps({k: v for k, v in c.items() if not k.endswith('.ok')}) or 'none'}.")
    e = r.get("end_check")
    if e:
        b = h.base["kit"]
        out.append("")
        out.append(f"Baseline (after a warm-up, no traffic): kit {b['fds']} fds, {b['threads']} threads, heap after full "
                   f"GC {b['heap'] / MIB:.1f} MiB, RSS {b['rss'] / MIB:.0f} MiB. After the soak, traffic stopped: "
                   f"{e['kit']['fds']} fds, {e['kit']['threads']} threads, heap {e['kit']['heap'] / MIB:.1f} MiB, RSS "
                   f"{e['kit']['rss'] / MIB:.0f} MiB — " + ("back to baseline." if not e["problems"] else
                                                             "**not** back: " + "; ".join(e["problems"])))
    samples = r.get("samples_by_outcome", {})
    if samples:
        out.append("")
        for k in sorted(samples):
            for s in samples[k][:2]:
                out.append(f"- `{k}`: {s}")
    out.append("")
    out.append("Verdict: " + " ".join(verdict_lines(h)))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["faults", "soak"])
    ap.add_argument("--http-clients", type=int)
    ap.add_argument("--pull-clients", type=int)
    ap.add_argument("--bindings", type=int, default=0, help="EXPOSE and PULL ports each (default 1; soak 4: the "
                    "driver opens at most 256 connections per target binding)")
    ap.add_argument("--files", help="name=bytes,… served by nginx")
    ap.add_argument("--weights", help="name=weight,… how often each file is asked for")
    ap.add_argument("--pull-min", type=int)
    ap.add_argument("--pull-max", type=int)
    ap.add_argument("--rounds-min", type=int)
    ap.add_argument("--rounds-max", type=int)
    ap.add_argument("--think-ms", type=float)
    ap.add_argument("--traffic-procs", type=int)
    ap.add_argument("--stuck-secs", type=float, default=30, help="no progress this long counts as stuck")
    ap.add_argument("--kit-jvm", default="-Xmx512m")
    ap.add_argument("--heartbeat-interval", type=int, default=1)
    ap.add_argument("--heartbeat-timeout", type=int, default=4)
    ap.add_argument("--fault-secs", type=float, default=2.0, help="how long a peer stays dead before it is started again")
    ap.add_argument("--cuts", type=int, default=3)
    ap.add_argument("--warm-ok", type=int, default=200, help="intact results of each kind before a fault")
    ap.add_argument("--recover-ok", type=int, default=200, help="intact results of each kind after it")
    ap.add_argument("--recover-secs", type=float, default=90)
    ap.add_argument("--phases", default="", help="only these fault phases (comma-separated)")
    ap.add_argument("--soak-secs", type=float, default=600)
    ap.add_argument("--sample-secs", type=float, default=10)
    ap.add_argument("--json-out", help="write the whole report as JSON here")
    ap.add_argument("--md-out", help="write the Markdown section here")
    ap.add_argument("--results-md", help="put the Markdown section into this file (bench/RESULTS.md), replacing "
                    "the section of the same mode between its markers")
    a = ap.parse_args()
    soak = a.mode == "soak"
    defaults = dict(http_clients=500 if soak else 32, pull_clients=500 if soak else 32,
                    files="small.bin=1024,mid.bin=16384,big.bin=262144" if soak else
                    "small.bin=1024,mid.bin=65536,big.bin=1048576,huge.bin=8388608",
                    weights="small.bin=6,mid.bin=3,big.bin=1" if soak else "small.bin=4,mid.bin=3,big.bin=2,huge.bin=1",
                    pull_min=256 if soak else 1024, pull_max=16384 if soak else 1 << 20,
                    rounds_min=20 if soak else 1, rounds_max=120 if soak else 4,
                    think_ms=1000 if soak else 5, traffic_procs=2 if soak else 1)
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    a.command = os.environ.get("FAULTS_COMMAND") or " ".join(["bench/faults/faults.py"] + sys.argv[1:])
    if not os.path.exists(B.JAR):
        sys.exit(f"no {B.JAR}: build it with ./mvnw -B package -DskipTests")

    h = Harness(a)
    h.report.update(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                    commit=git("rev-parse", "--short=10", "HEAD"),
                    dirty=" (with uncommitted changes)" if git("status", "--porcelain", "--", "src", "pom.xml") else "")
    t0 = time.monotonic()
    stop = {"sig": None}

    def on_signal(sig, _):
        stop["sig"] = sig
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        h.run_soak() if soak else h.run_faults()
    except KeyboardInterrupt:
        h.report["failures"].append("interrupted")
    except Exception as e:  # noqa: BLE001 - reported, then everything is stopped
        h.report["failures"].append(f"harness error: {e!r}")
        log("error:", repr(e))
        import traceback
        traceback.print_exc()
    finally:
        h.cleanup()
    wall = time.monotonic() - t0
    md = (render_soak if soak else render_faults)(h, a, wall) if h.report.get("phases") else \
        "Verdict: " + " ".join(verdict_lines(h)) + "\n"
    print(md)
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(h.report, f, indent=1, default=str)
    if a.md_out:
        with open(a.md_out, "w") as f:
            f.write(md)
    if a.results_md:
        put_section(a.results_md, a.mode, md)
    log(f"{'PASS' if not h.report['failures'] else 'FAIL'} in {wall:.0f}s; logs in {h.work}")
    sys.exit(0 if not h.report["failures"] else 1)


SECTION_TITLE = "## Faults and soak (bench/faults)"


def put_section(path, mode, md):
    """Replaces (or adds) this mode's block inside the faults section of RESULTS.md; bench/lib/report.py keeps the
    section when it rewrites the rest of the file."""
    begin, end = f"<!-- faults:{mode}:begin -->", f"<!-- faults:{mode}:end -->"
    text = open(path).read() if os.path.exists(path) else ""
    block = f"{begin}\n{md}{end}\n"
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end) + 1:]
    else:
        if SECTION_TITLE not in text:
            text = text.rstrip("\n") + f"\n\n{SECTION_TITLE}\n\nWritten by `bench/faults/run.sh` and `bench/faults/soak.sh` " \
                   "(see [README.md](README.md#faults-and-soak)).\n\n"
        text = text.rstrip("\n") + "\n\n" + block
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
