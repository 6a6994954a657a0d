#!/usr/bin/env python3
"""hoody-tunnel benchmark orchestrator (called by bench/run.sh, which installs the tools and builds the jar).

Starts everything itself on 127.0.0.1 (free ports), measures the tunnel against two baselines measured in the same
run (direct, and OpenSSH `ssh -R`), profiles the data plane with JFR, stops everything, and writes bench/RESULTS.md
and bench/results.json. Only the standard library is used.
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(BENCH, "lib")
REPO = os.path.dirname(BENCH)
JAVA_HOME = os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
JAVA = os.path.join(JAVA_HOME, "bin", "java")
JCMD = os.path.join(JAVA_HOME, "bin", "jcmd")
JFR = os.path.join(JAVA_HOME, "bin", "jfr")
JAR = os.path.join(REPO, "target", "quarkus-app", "quarkus-run.jar")
KIT_JVM = ["-Xmx512m"]
SSH_CIPHER = "aes128-gcm@openssh.com"
MIB = 1024 * 1024


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------------------
# processes

class Proc:
    """A child in its own process group, so that stopping it also stops what it forked (nginx workers, sshd's
    per-connection child). Only processes started here are ever signalled."""

    def __init__(self, bench, name, argv, env=None, stdin=None, stdout_pipe=False):
        self.name = name
        self.log_path = os.path.join(bench.work, name + ".log")
        self.log_file = open(self.log_path, "ab")
        e = dict(os.environ)
        if env:
            e.update(env)
        self.popen = subprocess.Popen(argv, env=e, stdin=stdin or subprocess.DEVNULL,
                                      stdout=subprocess.PIPE if stdout_pipe else self.log_file,
                                      stderr=self.log_file, start_new_session=True, cwd=bench.work)
        self.pid = self.popen.pid
        self.started = time.monotonic()
        bench.procs.append(self)

    def alive(self):
        return self.popen.poll() is None

    def stop(self, timeout=8):
        # Descendants may have left the group (sshd's per-connection processes call setsid): note them first, and
        # kill what is left of them afterwards (only if it is still the same process: pid and start time).
        table = proc_table()
        descendants = {p: table[p][3] for p in tree(table, [self.pid]) if p != self.pid}
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        else:
            # the leader is gone; its group (e.g. nginx workers) may not be
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if descendants:
            deadline = time.monotonic() + 3
            while True:
                now = proc_table()
                left = [p for p, start in descendants.items() if p in now and now[p][3] == start and now[p][5] != "Z"]
                if not left or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.log_file.close()


class Driver(Proc):
    """A hoody-tunnel driver with --json; a reader thread collects its events."""

    def __init__(self, bench, name, args, jar=None, env=None):
        super().__init__(bench, name, [JAVA, "-jar", jar or JAR] + args + ["--json"], env=env, stdout_pipe=True)
        self.events = []
        self.bind_ok_at = None
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.popen.stdout:
            line = raw.decode(errors="replace").strip()
            with open(self.log_path, "a") as f:
                f.write(line + "\n")
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                if ev.get("event") == "bind_ok" and self.bind_ok_at is None:
                    self.bind_ok_at = time.monotonic()
                self.events.append(ev)
                self.cond.notify_all()

    def wait_bound(self, timeout=30):
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.bind_ok_at is None:
                if not self.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"driver {self.name} not bound: {self.events} (log {self.log_path})")
                self.cond.wait(0.1)
        return self.bind_ok_at - self.started


# --------------------------------------------------------------------------------------------------------------
# /proc helpers

def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_table():
    """Every process now: pid -> (ppid, own CPU-s, CPU-s of its reaped children, starttime, comm, state), from /proc/<pid>/stat
    (utime+stime cover all threads of a process, live and exited; cutime+cstime cover children it has waited for)."""
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        v = s[s.rindex(")") + 2:].split()  # v[0] is field 3 (state): field n is v[n - 3]
        table[int(d)] = (int(v[1]), (int(v[11]) + int(v[12])) / CLK_TCK, (int(v[13]) + int(v[14])) / CLK_TCK,
                         int(v[19]), comm, v[0])
    return table


def tree(table, roots):
    """The roots and all their live descendants (by parent pid)."""
    children = {}
    for pid, row in table.items():
        children.setdefault(row[0], []).append(pid)
    out, todo = set(), [r for r in roots if r in table]
    while todo:
        pid = todo.pop()
        if pid not in out:
            out.add(pid)
            todo.extend(children.get(pid, ()))
    return out


def tree_cpu(table, roots):
    """CPU-seconds of whole process trees: own + reaped children's time of every live process in them. The sum does not
    change when a descendant exits and its parent reaps it (its time moves into the parent's cutime/cstime), so the
    difference of two snapshots counts short-lived children too (sshd's per-connection processes, nginx workers)."""
    return sum(table[p][1] + table[p][2] for p in tree(table, roots))


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def cpu_seconds(pids):
    """CPU-seconds of the process trees rooted at pids (see tree_cpu)."""
    return tree_cpu(proc_table(), pids)


class CpuMeter:
    """CPU time of named groups of process trees between two snapshots, plus the client tools this process ran and
    waited for meanwhile (iperf3 -c, wrk, curl: their time arrives in os.times()'s children fields)."""

    def __init__(self, groups):
        self.groups = {k: list(v) for k, v in groups.items()}

    def snap(self):
        table = proc_table()
        t = os.times()
        v = {name: tree_cpu(table, roots) for name, roots in self.groups.items()}
        v["client"] = t.children_user + t.children_system
        v["machine"] = machine_busy_cpu()
        return v, table

    def measure(self, fn):
        """Runs fn; returns (its result, {group: CPU-s}, wall seconds, {group: [(pid, cmdline, CPU-s)]} of the trees)."""
        before, _ = self.snap()
        t0 = time.monotonic()
        out = fn()
        wall = time.monotonic() - t0
        after, table = self.snap()
        delta = {k: after[k] - before[k] for k in after}
        counted = {name: sorted((p, cmdline(p)[:80], round(table[p][1] + table[p][2], 2)) for p in tree(table, roots))
                   for name, roots in self.groups.items()}
        return out, delta, wall, counted


def ctx_switches(pid):
    total = 0
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{t}/status") as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                            total += int(line.split()[1])
            except OSError:
                pass
    except OSError:
        pass
    return total


def machine_task_cpu():
    """CPU-seconds the whole machine spent in user+nice+system (softirq/irq excluded: loopback networking lands
    there and is not charged to any process)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2]) / CLK_TCK


def machine_busy_cpu():
    """CPU-seconds the whole machine was busy: user+nice+system+irq+softirq (+steal is not ours, left out)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / CLK_TCK


def aot_cache_used(log_path):
    """Whether a JVM started with -Xlog:aot=info:file=log_path mapped and kept its AOT cache."""
    try:
        text = open(log_path, errors="replace").read()
    except OSError:
        return False
    return "Opened AOT cache" in text and not re.search(r"\[(error|warning)\]\[aot\].*(mismatch|disable|unable|fail)", text, re.I)


class RssSampler:
    def __init__(self, pid, every=0.1):
        self.pid, self.every, self.peak, self.samples = pid, every, 0, []
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop_ev.is_set():
            try:
                r = rss_bytes(self.pid)
                self.samples.append(r)
                self.peak = max(self.peak, r)
            except OSError:
                pass
            self.stop_ev.wait(self.every)

    def stop(self):
        self.stop_ev.set()
        self.t.join()
        return self.peak


# --------------------------------------------------------------------------------------------------------------
# small utilities

def free_ports(k):
    """k distinct free TCP ports below the ephemeral range, so that no outgoing connection takes one meanwhile."""
    ports, socks = [], []
    for _ in range(10000):
        if len(ports) == k:
            break
        p = random.randint(20000, 32000)
        if p in ports:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            s.close()
            continue
        socks.append(s)
        ports.append(p)
    else:
        raise RuntimeError("no free ports")
    for s in socks:
        s.close()
    return ports


def sysctl(name):
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return " ".join(f.read().split())
    except OSError:
        return "?"


def wait_listening(port, timeout=20, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
        if out.strip():
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} ({what}) after {timeout}s")


# The kits the benchmarks start accept this admin token (README "Security"); sent on every GET, harmless elsewhere.
ADMIN_TOKEN = os.urandom(24).hex()


def http_get(url, timeout=5):
    try:
        request = urllib.request.Request(url, headers={"Authorization": "Bearer " + ADMIN_TOKEN})
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return None, b""


def run(argv, timeout, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# --------------------------------------------------------------------------------------------------------------
# the benchmark

class Bench:
    def __init__(self, args):
        self.args = args
        self.reps = args.reps
        self.secs = args.secs
        self.work = tempfile.mkdtemp(prefix="hoody-bench.")
        self.procs = []
        self.data = {}  # key -> list of samples
        self.extra = {}  # key -> anything (lists of dicts, strings)
        self.t_start = time.monotonic()
        self.kit_jvm = getattr(args, "kit_jvm", " ".join(KIT_JVM)).split()
        log("work dir", self.work)

    def my_cpu(self):
        t = os.times()
        live = [p.pid for p in self.procs if p.alive()]
        return t.user + t.system + t.children_user + t.children_system + (cpu_seconds(live) if live else 0)

    def phase(self, name):
        """Marks a phase boundary; records how much CPU processes that are not ours used meanwhile (a shared machine
        makes every figure noisier, so the report says how busy it was)."""
        now = (time.monotonic(), machine_task_cpu(), self.my_cpu())
        last = getattr(self, "_phase_mark", None)
        if last is not None:
            wall, busy, mine = (a - b for a, b in zip(now, last))
            foreign = max(0.0, busy - mine)
            self.extra.setdefault("foreign_cpu", []).append(dict(phase=self._phase_name, wall_s=round(wall, 1),
                                                                 foreign_cores=round(foreign / wall, 2) if wall else 0))
            log(f"phase {self._phase_name}: {wall:.0f}s, other processes used {foreign / wall:.2f} cores")
        self._phase_mark, self._phase_name = now, name

    def rec(self, key, value):
        self.data.setdefault(key, []).append(value)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def cleanup(self):
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception as e:  # noqa: BLE001 - cleanup goes on
                log("stopping", p.name, "failed:", e)
        self.procs.clear()

    def start_services(self):
        (self.t_iperf, self.t_http, self.t_idle, self.s_sshd, self.s_iperf, self.s_http,
         self.p_iperf, self.e_http, self.p_idle, self.kit_port) = free_ports(10)
        self.iperf = Proc(self, "iperf3-server", ["iperf3", "-s", "-B", "127.0.0.1", "-p", str(self.t_iperf)])
        self.start_nginx()
        self.idle_server = Proc(self, "idle-server", [sys.executable, os.path.join(LIB, "idle_server.py"), str(self.t_idle)])
        self.start_ssh()
        for port, what in ((self.t_iperf, "iperf3"), (self.t_http, "nginx"), (self.t_idle, "idle server")):
            wait_listening(port, what=what)

    def start_nginx(self):
        d = os.path.join(self.work, "nginx")
        www = os.path.join(d, "www")
        os.makedirs(www)
        for t in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(d, "tmp", t))
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("<!doctype html><title>bench</title><p>hello through the tunnel</p>\n")
        with open(os.path.join(www, "big.bin"), "wb") as f:
            f.truncate(self.args.download_mib * MIB)  # sparse: served from the page cache's zero page
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
    default_type text/html;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server {{
        listen 127.0.0.1:{self.t_http} backlog=4096;
        root {www};
    }}
}}
""")
        self.nginx = Proc(self, "nginx", ["nginx", "-p", d, "-c", conf, "-g", "daemon off;"])

    def start_ssh(self):
        d = os.path.join(self.work, "ssh")
        os.makedirs(d, mode=0o700)
        for k in ("host_key", "user_key"):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(d, k)], 30).check_returncode()
        shutil.copy(os.path.join(d, "user_key.pub"), os.path.join(d, "authorized_keys"))
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation directory
        conf = os.path.join(d, "sshd_config")
        with open(conf, "w") as f:
            f.write(f"""Port {self.s_sshd}
ListenAddress 127.0.0.1
HostKey {d}/host_key
PidFile {d}/sshd.pid
UsePAM no
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile {d}/authorized_keys
StrictModes no
AllowTcpForwarding yes
GatewayPorts no
LogLevel ERROR
""")
        self.sshd = Proc(self, "sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", conf])
        wait_listening(self.s_sshd, what="sshd")
        self.ssh = Proc(self, "ssh-R", [
            "ssh", "-N", "-T", "-p", str(self.s_sshd), "-i", os.path.join(d, "user_key"),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ControlMaster=no",
            "-o", "ExitOnForwardFailure=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-c", SSH_CIPHER,
            "-R", f"127.0.0.1:{self.s_iperf}:127.0.0.1:{self.t_iperf}",
            "-R", f"127.0.0.1:{self.s_http}:127.0.0.1:{self.t_http}",
            "root@127.0.0.1"])
        wait_listening(self.s_iperf, what="ssh -R iperf3")
        wait_listening(self.s_http, what="ssh -R http")

    def start_kit(self, name, port, jvm=None, jar=None):
        env = {"QUARKUS_HTTP_PORT": str(port), "QUARKUS_HTTP_HOST": "127.0.0.1",
                "HOODY_TUNNEL_EXPOSE_HOST": "127.0.0.1", "HOODY_TUNNEL_ADMIN_TOKEN": ADMIN_TOKEN}
        kit = Proc(self, name, [JAVA] + (self.kit_jvm if jvm is None else jvm) + ["-jar", jar or JAR], env=env)
        deadline = time.monotonic() + 60
        while True:
            status, _ = http_get(f"http://127.0.0.1:{port}/q/health/ready", timeout=2)
            if status == 200:
                break
            if not kit.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"kit {name} did not start (log {kit.log_path})")
            time.sleep(0.05)
        kit.ready_s = time.monotonic() - kit.started
        return kit

    def kit_url(self, port=None):
        return f"http://127.0.0.1:{port or self.kit_port}"

    def drop(self, p):
        p.stop()
        if p in self.procs:
            self.procs.remove(p)

    # --- measuring tools ---------------------------------------------------------------------------------------

    def iperf3(self, port, parallel=1, reverse=False, secs=None, full=False):
        """(Gbit/s received, bytes received), or iperf3's whole JSON report with full=True."""
        try:
            return self._iperf3(port, parallel, reverse, secs, full)
        except RuntimeError as e:
            # iperf3 -s sometimes exits after a failed test, or re-opens its listener; restart it if gone, retry once
            log("iperf3 failed:", e, "- retrying")
            if not self.iperf.alive():
                self.drop(self.iperf)
                self.iperf = Proc(self, "iperf3-server-2", ["iperf3", "-s", "-B", "127.0.0.1", "-p", str(self.t_iperf)])
            time.sleep(1)
            wait_listening(self.t_iperf, what="iperf3")
            return self._iperf3(port, parallel, reverse, secs, full)

    def _iperf3(self, port, parallel=1, reverse=False, secs=None, full=False):
        argv = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(secs or self.secs), "-P", str(parallel),
                "-J", "--connect-timeout", "5000"]
        if reverse:
            argv.append("-R")
        r = run(argv, (secs or self.secs) + 150)
        try:
            j = json.loads(r.stdout)
        except ValueError:
            raise RuntimeError(f"iperf3 said: {r.stdout[:300]} {r.stderr[:300]}")
        if "error" in j:
            raise RuntimeError("iperf3: " + j["error"])
        if full:
            return j
        return j["end"]["sum_received"]["bits_per_second"] / 1e9, j["end"]["sum_received"]["bytes"]

    def curl_download(self, port):
        r = run(["curl", "-s", "-o", "/dev/null", "--max-time", "120", "-w", "%{http_code} %{speed_download} %{size_download}",
                 f"http://127.0.0.1:{port}/big.bin"], 130)
        code, speed, size = r.stdout.split()
        if code != "200" or int(float(size)) != self.args.download_mib * MIB:
            raise RuntimeError(f"download through {port}: HTTP {code}, {size} bytes")
        return float(speed), int(float(size))

    def wrk(self, port, conns, secs=None, close=False):
        """wrk on the tiny page; close=True sends `Connection: close`, so that every request is a new connection."""
        threads = 1 if conns < 2 else 2
        argv = ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{secs or self.secs}s", "--latency",
                "-s", os.path.join(LIB, "latency.lua")]
        if close:
            argv += ["-H", "Connection: close"]
        r = run(argv + [f"http://127.0.0.1:{port}/index.html"], (secs or self.secs) + 60)
        m = re.search(r"^BENCH (.*)$", r.stdout, re.M)
        if not m:
            raise RuntimeError("wrk: " + r.stdout[-500:] + r.stderr[-500:])
        v = {k: int(x) for k, x in (kv.split("=") for kv in m.group(1).split())}
        v["rps"] = v["requests"] / (v["duration_us"] / 1e6)
        v["errors"] = v["connect"] + v["read"] + v["write"] + v["status"] + v["timeout"]
        return v

    def time_wait(self, visitor_port):
        """TIME_WAIT sockets on this machine now: all, those of the visitor hop (either end on visitor_port), and
        those towards nginx (the forwarder's or wrk's connections to it)."""
        out = run(["ss", "-Htan", "state", "time-wait"], 30).stdout.splitlines()
        ends = [l.split()[-2:] for l in out if l.strip()]
        port = lambda a: a.rsplit(":", 1)[-1]  # noqa: E731
        return dict(total=len(ends),
                    visitor_server_side=sum(1 for l, _ in ends if port(l) == str(visitor_port)),
                    visitor_client_side=sum(1 for _, r in ends if port(r) == str(visitor_port)),
                    to_nginx_client_side=sum(1 for _, r in ends if port(r) == str(self.t_http)),
                    nginx_side=sum(1 for l, _ in ends if port(l) == str(self.t_http)))

    def with_cpu(self, pids, fn):
        """(fn's result, CPU-s of the process trees rooted at pids, wall s)."""
        out, cpu, wall, _ = CpuMeter({"fwd": pids}).measure(fn)
        return out, cpu["fwd"], wall

    def measure(self, workload, path, groups, fn, gb=None, requests=None):
        """Runs fn under a CpuMeter of groups ({"fwd": forwarder roots, "server": server roots}); records CPU per GB
        (gb: a function of fn's result -> GB moved) or per request (requests: result -> count) for every group, and
        which processes were counted (once per workload and path). Returns (result, cpu dict, wall)."""
        out, cpu, wall, counted = CpuMeter(groups).measure(fn)
        n_gb = gb(out) if gb else None
        n_req = requests(out) if requests else None
        for g in ("fwd", "server", "client"):
            if g == "fwd" and not groups.get("fwd"):
                continue  # direct: nothing forwards
            if n_gb:
                self.rec(f"cpu_gb.{workload}.{path}.{g}", cpu[g] / n_gb)
            if n_req:
                self.rec(f"cpu_req.{workload}.{path}.{g}", cpu[g] / n_req * 1e6)
        if wall:
            self.rec(f"cores.{workload}.{path}.machine", cpu["machine"] / wall)
            if groups.get("fwd"):
                self.rec(f"cores.{workload}.{path}.fwd", cpu["fwd"] / wall)
        seen = self.extra.setdefault("cpu_counted", {})
        if f"{workload}.{path}" not in seen:
            seen[f"{workload}.{path}"] = {g: [dict(pid=p, cmd=c, cpu_s_total=t) for p, c, t in rows]
                                          for g, rows in counted.items()}
        return out, cpu, wall

    def gc_heap(self, pid):
        """Full GC, then heap used (bytes) from GC.heap_info."""
        run([JCMD, str(pid), "GC.run"], 60)
        out = run([JCMD, str(pid), "GC.heap_info"], 60).stdout
        # G1: one "garbage-first heap total ..., used NK" line; Serial/Parallel: one line per generation.
        used = [int(m.group(1)) for m in re.finditer(r"^\s*(?!Metaspace|class space)\S.*\btotal\b.*?\bused (\d+)K", out, re.M)]
        if not used:
            raise RuntimeError("GC.heap_info: " + out)
        return sum(used) * 1024

    # --- phases ------------------------------------------------------------------------------------------------

    def shipped_kit(self):
        """(jar, JVM flags, AOT cache path or None) of the kit as the image runs it (bench/lib/shipped.py reads the flags
        from src/main/docker/Dockerfile.jvm and deployment/kit.yaml). The image's AOT cache needs the aot-jar packaging
        (run.sh builds it into --aot-app) and is trained here with the Dockerfile's own training command; without it
        the shipped flags are measured without the cache, and the report says so."""
        import shipped
        info = shipped.shipped()
        jar, aot, note = JAR, None, ""
        app = os.path.abspath(self.args.aot_app) if self.args.aot_app else None
        if info["aot_in_image"]:
            if app and os.path.exists(os.path.join(app, "quarkus-run.jar")) and info["aot_training"]:
                aot = os.path.join(self.work, "app.aot")
                argv = shipped.training_argv(JAVA, info["aot_training"], app, aot)
                log("training the AOT cache as the Dockerfile does:", " ".join(argv))
                r = run(argv, 300, cwd=self.work)
                if r.returncode == 0 and os.path.exists(aot):
                    jar = os.path.join(app, "quarkus-run.jar")
                else:
                    aot = None
                    note = "without the image's AOT cache: training it failed (see the log of the run)"
                    log("AOT training failed:", (r.stdout + r.stderr)[-1000:])
            else:
                note = (f"without the image's AOT cache: no aot-jar build in {app} (run.sh builds it; "
                        "--aot-app DIR points elsewhere)")
                log("shipped kit flags:", note)
        info = shipped.shipped(aot)
        self.extra["shipped_kit"] = dict(flags=" ".join(info["flags"]), jar=os.path.relpath(jar, REPO), aot=bool(aot),
                                         note=note, sources=info["sources"], memory_limit=info["memory_limit"],
                                         cpu_limit=info["cpu_limit"])
        return jar, info["flags"], aot

    def phase_idle_rss(self):
        """Kit RSS idle: a fresh kit, one session (a PULL binding), no traffic, 5 s after BIND_OK; with the shipped
        flags (the target), with the flags the bench's throughput kit runs with, and optionally a variant."""
        sjar, sflags, aot = self.shipped_kit()
        variants = [("shipped", sflags + ([f"-Xlog:aot=info:file={self.work}/aot-%p.log"] if aot else []), sjar),
                    ("bench", self.kit_jvm, JAR)]
        if self.args.rss_variant:
            variants.append(("variant", self.kit_jvm + self.args.rss_variant.split(), JAR))
        for rep in range(self.reps):
            for vname, jvm, jar in variants:
                port, pport = free_ports(2)
                kit = self.start_kit(f"kit-idle-{vname}-{rep}", port, jvm, jar)
                d = Driver(self, f"driver-idle-{vname}-{rep}",
                           ["pull", f"127.0.0.1:{self.t_iperf}", "--port", str(pport), "--kit", self.kit_url(port)])
                d.wait_bound()
                time.sleep(5)
                rss = rss_bytes(kit.pid)
                heap = self.gc_heap(kit.pid)
                rss_after_gc = rss_bytes(kit.pid)
                key = {"bench": "kit.idle", "shipped": "kit.idle_shipped", "variant": "kit.idle_variant"}[vname]
                self.rec(key + ".rss", rss)
                self.rec(key + ".rss_after_gc", rss_after_gc)
                self.rec(key + ".heap", heap)
                self.rec(key + ".ready_s", kit.ready_s)
                if vname == "shipped" and aot:
                    self.rec("kit.idle_shipped.aot_used", aot_cache_used(os.path.join(self.work, f"aot-{kit.pid}.log")))
                log(f"idle kit ({vname}) {rep + 1}: ready in {kit.ready_s:.2f}s, RSS {rss / MIB:.1f} MiB, "
                    f"after GC {rss_after_gc / MIB:.1f} MiB, heap {heap / MIB:.1f} MiB")
                self.drop(d)
                self.drop(kit)
        if aot:
            os.remove(aot)  # ~40 MB; the work directory with the logs stays

    def start_main(self):
        self.kit = self.start_kit("kit", self.kit_port)
        log(f"kit up on {self.kit_port} in {self.kit.ready_s:.2f}s (pid {self.kit.pid})")
        self.dpull = Driver(self, "driver-pull-iperf3", ["pull", f"127.0.0.1:{self.t_iperf}", "--port", str(self.p_iperf),
                                                         "--kit", self.kit_url()])
        self.dexpose = Driver(self, "driver-expose-nginx", ["expose", f"127.0.0.1:{self.t_http}", "--port", str(self.e_http),
                                                            "--kit", self.kit_url()])
        # 10,000 idle streams go to one target: above the driver's default cap of 256 connections per target.
        self.didle = Driver(self, "driver-pull-idle", ["pull", f"127.0.0.1:{self.t_idle}", "--port", str(self.p_idle),
                                                       "--max-target-connections", "20000", "--kit", self.kit_url()])
        for d in (self.dpull, self.dexpose, self.didle):
            d.wait_bound()

    def kit_warnings(self):
        return [line.strip() for line in open(self.kit.log_path, errors="replace")
                if " WARN " in line or " ERROR " in line][:20]

    def restart_main(self):
        for p in (self.dpull, self.dexpose, self.didle, self.kit):
            self.drop(p)
        self.start_main()

    def paths(self, kind):
        """(name, port, process trees whose CPU is counted) for each path. fwd: the forwarding processes (tunnel: kit +
        the driver carrying the workload; ssh -R: the ssh client + the listening sshd with all its descendants, among
        them the per-connection session process that does the forwarding and the cipher); server: the server end
        (iperf3 -s, or nginx master + worker)."""
        server = [self.iperf.pid] if kind == "tcp" else [self.nginx.pid]
        ssh = [self.ssh.pid, self.sshd.pid]
        if kind == "tcp":
            return [("direct", self.t_iperf, dict(fwd=[], server=server)),
                    ("ssh -R", self.s_iperf, dict(fwd=ssh, server=server)),
                    ("tunnel", self.p_iperf, dict(fwd=[self.kit.pid, self.dpull.pid], server=server))]
        return [("direct", self.t_http, dict(fwd=[], server=server)),
                ("ssh -R", self.s_http, dict(fwd=ssh, server=server)),
                ("tunnel", self.e_http, dict(fwd=[self.kit.pid, self.dexpose.pid], server=server))]

    def phase_warmup(self):
        log("warm-up: JIT of kit and drivers, ssh")
        self.warmed = True
        w = self.args.warmup_secs
        self.iperf3(self.p_iperf, 1, secs=w)
        self.iperf3(self.p_iperf, 8, secs=max(2, w // 2))
        self.iperf3(self.p_iperf, 1, reverse=True, secs=max(2, w // 2))
        self.iperf3(self.s_iperf, 1, secs=2)
        self.iperf3(self.s_iperf, 8, secs=2)
        self.curl_download(self.e_http)
        self.curl_download(self.e_http)
        self.curl_download(self.s_http)
        self.wrk(self.e_http, 50, secs=w)
        self.wrk(self.e_http, 200, secs=max(2, w // 2))
        self.wrk(self.e_http, 1, secs=2)
        self.wrk(self.e_http, self.args.close_conns, secs=max(2, w // 2), close=True)
        self.wrk(self.s_http, 50, secs=2)
        self.wrk(self.s_http, self.args.close_conns, secs=2, close=True)
        self.wrk(self.t_http, 50, secs=2)

    def phase_bulk(self):
        cases = [("p1", 1, False), ("p8", 8, False), ("p1R", 1, True)]
        for rep in range(self.reps):
            for cname, par, rev in cases:
                for pname, port, groups in self.paths("tcp"):
                    (gbps, nbytes), cpu, wall = self.measure(f"iperf.{cname}", pname, groups,
                                                             lambda: self.iperf3(port, par, rev), gb=lambda o: o[1] / 1e9)
                    self.rec(f"iperf.{cname}.{pname}", gbps)
                    log(f"iperf3 {cname:3s} {pname:7s} rep {rep + 1}: {gbps:6.2f} Gbit/s  CPU-s/GB forwarder "
                        f"{cpu['fwd'] / (nbytes / 1e9):.2f} server {cpu['server'] / (nbytes / 1e9):.2f} "
                        f"client {cpu['client'] / (nbytes / 1e9):.2f}")
            for pname, port, groups in self.paths("http"):
                (speed, nbytes), cpu, wall = self.measure("download", pname, groups, lambda: self.curl_download(port),
                                                          gb=lambda o: o[1] / 1e9)
                self.rec(f"download.{pname}", speed * 8 / 1e9)
                log(f"download {pname:7s} rep {rep + 1}: {speed * 8 / 1e9:6.2f} Gbit/s  CPU-s/GB forwarder "
                    f"{cpu['fwd'] / (nbytes / 1e9):.2f} server {cpu['server'] / (nbytes / 1e9):.2f}")

    def http_cases(self):
        """(workload key, connections, Connection: close?)"""
        return [(f"wrk.c{c}", c, False) for c in (1, 50, 200)] + [(f"close.c{self.args.close_conns}", self.args.close_conns, True)]

    def phase_http(self):
        for rep in range(self.reps):
            for wl, c, close in self.http_cases():
                for pname, port, groups in self.paths("http"):
                    sampler = RssSampler(self.kit.pid) if pname == "tunnel" and c == 200 and not close else None
                    tw0 = self.time_wait(port) if close else None
                    v, cpu, wall = self.measure(wl, pname, groups, lambda: self.wrk(port, c, close=close),
                                                requests=lambda o: o["requests"])
                    if sampler:
                        self.rec("kit.load.rss_peak", sampler.stop())
                        self.rec("kit.load.rss_median", statistics.median(sampler.samples))
                    for k in ("rps", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "errors", "connect"):
                        self.rec(f"{wl}.{pname}.{k}", v[k])
                    extra = ""
                    if close:
                        tw1 = self.time_wait(port)
                        self.extra.setdefault("time_wait", []).append(dict(workload=wl, path=pname, rep=rep + 1, before=tw0,
                                                                            after=tw1, connect_errors=v["connect"]))
                        extra = (f" TIME_WAIT after: {tw1['total']} (visitor hop: server side {tw1['visitor_server_side']}, "
                                 f"client side {tw1['visitor_client_side']}; nginx side {tw1['nginx_side']})")
                    per_req = cpu["fwd"] / v["requests"] * 1e6 if v["requests"] else 0
                    log(f"{wl:9s} {pname:7s} rep {rep + 1}: {v['rps']:9.0f} req/s p50 {v['p50_us'] / 1000:.2f} "
                        f"p99 {v['p99_us'] / 1000:.2f} p99.9 {v['p999_us'] / 1000:.2f} ms errors {v['errors']} "
                        f"forwarder {per_req:.1f} CPU-µs/req" + extra)

    # --- v1 vs v2 (socket shards, issue 12) ------------------------------------------------------------------

    def shard_variants(self):
        """[(name, extra driver args)] from --shard-variants 'v1=;v2x2=--shards 2;...'."""
        out = []
        for item in self.args.shard_variants.split(";"):
            if item.strip():
                name, _, extra = item.partition("=")
                out.append((name.strip(), extra.split()))
        return out

    def driver_accepts(self, option):
        r = run([JAVA, "-jar", JAR, "pull", "--help"], 60)
        return option in (r.stdout + r.stderr)

    def phase_shards(self):
        """Aggregate throughput and p99 of many parallel streams, v1 (one socket) vs v2 (--shards N), normally and with
        one of the driver's sockets made slow. Both modes run the drivers through bench/lib/slow_proxy.py (normal: no
        socket slowed), so that they differ only in the slow socket. Skipped while the driver has no --shards."""
        variants = self.shard_variants()
        if any("--shards" in extra for _, extra in variants) and not self.driver_accepts("--shards"):
            note = ("not available: this driver does not accept `--shards` (`pull --help` does not list it); the phase "
                    "runs by itself once it does")
            self.extra["shards"] = dict(available=False, note=note)
            log("v1 vs v2:", note)
            return
        a = self.args
        if not getattr(self, "warmed", False):
            self.phase_warmup()
        self.extra["shards"] = dict(available=True, variants=[[n, " ".join(e)] for n, e in variants],
                                    streams=a.shard_streams, conns=a.shard_conns, slow_index=a.shard_slow_index,
                                    slow_rate_kib=a.shard_slow_kib, slow_rcvbuf=a.shard_slow_rcvbuf, failures=[])
        for rep in range(self.reps):
            for mode in ("normal", "slow"):
                for name, extra in variants:
                    try:
                        self.shard_run(rep, mode, name, extra)
                    except RuntimeError as e:
                        self.extra["shards"]["failures"].append(dict(rep=rep + 1, mode=mode, variant=name, error=str(e)[:500]))
                        log(f"v1 vs v2 {mode} {name} rep {rep + 1} failed: {e}")

    def shard_run(self, rep, mode, name, extra):
        a = self.args
        slow_index = a.shard_slow_index if mode == "slow" else -1
        ppull, pexpose, xpull, xexpose = free_ports(4)
        started = []
        try:
            for port in (xpull, xexpose):
                started.append(Proc(self, f"proxy-{mode}-{name}-{port}", [
                    sys.executable, os.path.join(LIB, "slow_proxy.py"), str(port), str(self.kit_port),
                    "--slow-index", str(slow_index), "--rate-kib", str(a.shard_slow_kib), "--rcvbuf", str(a.shard_slow_rcvbuf)]))
                wait_listening(port, what="slow proxy")
            dp = Driver(self, f"driver-{mode}-{name}-pull", ["pull", f"127.0.0.1:{self.t_iperf}", "--port", str(ppull),
                                                              "--kit", self.kit_url(xpull)] + extra)
            de = Driver(self, f"driver-{mode}-{name}-expose", ["expose", f"127.0.0.1:{self.t_http}", "--port", str(pexpose),
                                                                "--kit", self.kit_url(xexpose)] + extra)
            started += [dp, de]
            dp.wait_bound()
            de.wait_bound()
            self.iperf3(ppull, a.shard_streams, secs=2)  # JIT warm-up of the new drivers
            self.wrk(pexpose, a.shard_conns, secs=2)
            key = f"shards.{mode}.{name}"
            j, cpu, wall = self.measure(key + ".iperf", "tunnel", dict(fwd=[self.kit.pid, dp.pid], server=[self.iperf.pid]),
                                        lambda: self.iperf3(ppull, a.shard_streams, full=True), gb=lambda o: o["end"]["sum_received"]["bytes"] / 1e9)
            per_stream = sorted(st["receiver"]["bits_per_second"] / 1e9 for st in j["end"]["streams"])
            self.rec(key + ".gbps", j["end"]["sum_received"]["bits_per_second"] / 1e9)
            self.rec(key + ".stream_min_gbps", per_stream[0])
            self.rec(key + ".stream_median_gbps", statistics.median(per_stream))
            v, cpu2, _ = self.measure(key + ".wrk", "tunnel", dict(fwd=[self.kit.pid, de.pid], server=[self.nginx.pid]),
                                      lambda: self.wrk(pexpose, a.shard_conns), requests=lambda o: o["requests"])
            for k in ("rps", "p50_us", "p99_us", "p999_us", "errors"):
                self.rec(f"{key}.{k}", v[k])
            log(f"v1 vs v2 {mode:6s} {name:6s} rep {rep + 1}: iperf3 -P {a.shard_streams} "
                f"{j['end']['sum_received']['bits_per_second'] / 1e9:.2f} Gbit/s (slowest stream {per_stream[0]:.3f}); "
                f"wrk -c{a.shard_conns} {v['rps']:.0f} req/s p50 {v['p50_us'] / 1000:.2f} p99 {v['p99_us'] / 1000:.2f} ms "
                f"errors {v['errors']}")
        finally:
            for p in reversed(started):
                self.drop(p)

    def kit_streams(self):
        if getattr(self, "streams_source", None) is None:
            s, body = http_get(self.kit_url() + "/api/v1/tunnel/tunnels")
            if s == 200 and b"totalStreams" in body:
                self.streams_source = "api"
            else:
                for path in ("/api/v1/tunnel/metrics", "/q/metrics"):
                    s, body = http_get(self.kit_url() + path)
                    if s == 200 and b"hoody_tunnel_streams_active" in body:
                        self.streams_source = path
                        break
                else:
                    self.streams_source = "ss"
            self.extra["streams_source"] = self.streams_source
        if self.streams_source == "api":
            _, body = http_get(self.kit_url() + "/api/v1/tunnel/tunnels", timeout=30)
            return int(json.loads(body)["totalStreams"])
        if self.streams_source == "ss":
            return self.target_conns()
        _, body = http_get(self.kit_url() + self.streams_source, timeout=30)
        m = re.search(rb"^hoody_tunnel_streams_active(?:\{[^}]*\})? ([0-9.eE+]+)", body, re.M)
        return int(float(m.group(1)))

    def target_conns(self):
        out = run(["ss", "-Htn", "state", "established", f"( sport = :{self.t_idle} )"], 30).stdout
        return sum(1 for line in out.splitlines() if line.strip())

    def wait_streams(self, n, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = (self.kit_streams(), self.target_conns())
            if last == (n, n):
                return last
            time.sleep(0.25)
        return last

    def phase_idle_streams(self):
        """N idle streams on one session, twice per repetition: fresh (only opened) and used (each stream first echoes
        --idle-data-kib KiB each way through the tunnel, so that its buffers have grown as after real traffic)."""
        kinds = [("idle", 0)] + ([("idle_used", self.args.idle_data_kib * 1024)] if self.args.idle_data_kib else [])
        for n in self.args.idle:
            for rep in range(self.reps):
                for kind, data in kinds:
                    self.idle_run(kind, n, rep, data)

    def idle_run(self, kind, n, rep, data):
        self.wait_streams(0, 30)
        heap0 = self.gc_heap(self.kit.pid)
        rss0, drss0 = rss_bytes(self.kit.pid), rss_bytes(self.didle.pid)
        client = subprocess.Popen([sys.executable, os.path.join(LIB, "idle_client.py"), str(self.p_idle), str(n),
                                   "--data-bytes", str(data)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, start_new_session=True)
        try:
            first = json.loads(client.stdout.readline())
            counts = self.wait_streams(n, 120)
            time.sleep(2)
            rss1, drss1 = rss_bytes(self.kit.pid), rss_bytes(self.didle.pid)
            heap1 = self.gc_heap(self.kit.pid)
            client.stdin.write("check\n")
            checked = json.loads(client.stdout.readline())
            counts_after = (self.kit_streams(), self.target_conns())
            client.stdin.write("close\n")
            client.stdout.readline()
            client.wait(30)
        finally:
            if client.poll() is None:
                os.killpg(client.pid, signal.SIGKILL)
                client.wait()
        errors = ((n - first["connected"]) + first["errors"] + first.get("exchange_errors", 0) + checked["dead"]
                  + (0 if counts == (n, n) else 1))
        self.rec(f"{kind}.{n}.errors", errors)
        self.rec(f"{kind}.{n}.open_s", first["seconds"])
        if data:
            self.rec(f"{kind}.{n}.exchange_s", first.get("exchange_seconds"))
        self.rec(f"{kind}.{n}.heap_per_stream", (heap1 - heap0) / n)
        self.rec(f"{kind}.{n}.rss_per_stream", (rss1 - rss0) / n)
        self.rec(f"{kind}.{n}.driver_rss_per_stream", (drss1 - drss0) / n)
        self.rec(f"{kind}.{n}.kit_rss", rss1)
        self.rec(f"{kind}.{n}.kit_heap", heap1)
        self.extra.setdefault("idle_detail", []).append(dict(
            kind=kind, data_bytes=data, n=n, rep=rep + 1, connected=first["connected"], connect_errors=first["errors"],
            exchange_errors=first.get("exchange_errors", 0), sample_error=first.get("sample_error"), streams_seen=counts,
            alive=checked["alive"], dead=checked["dead"], streams_after_check=counts_after, heap0=heap0, heap1=heap1,
            rss0=rss0, rss1=rss1))
        log(f"{kind} {n} rep {rep + 1}: connected {first['connected']} in {first['seconds']}s"
            + (f", echoed {data // 1024} KiB each way in {first.get('exchange_seconds')}s" if data else "")
            + f", kit/target streams {counts}, alive {checked['alive']}, errors {errors}; "
            f"heap/stream {(heap1 - heap0) / n / 1024:.2f} KiB, RSS/stream {(rss1 - rss0) / n / 1024:.2f} KiB")
        self.wait_streams(0, 60)

    def phase_ttfb(self):
        """Time from driver start (process launch) to the first 200 served through its EXPOSE port."""
        for rep in range(self.args.ttfb_reps):
            (port,) = free_ports(1)
            d = Driver(self, f"driver-ttfb-{rep}", ["expose", f"127.0.0.1:{self.t_http}", "--port", str(port),
                                                    "--kit", self.kit_url()])
            t0 = d.started
            ms = None
            deadline = t0 + 30
            req = b"GET /index.html HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                        s.sendall(req)
                        head = s.recv(64)
                        if head.startswith(b"HTTP/1.1 200"):
                            ms = (time.monotonic() - t0) * 1000
                            break
                except OSError:
                    pass
                time.sleep(0.002)
            # The kit accepts visitors as soon as BIND_OK is on its way, so the first 200 can beat the driver's
            # bind_ok line to our stdout reader by a moment: give the line a little time.
            settle = time.monotonic() + 2
            while d.bind_ok_at is None and time.monotonic() < settle:
                time.sleep(0.005)
            if ms is None:
                raise RuntimeError(f"no 200 through the driver within 30 s: {d.log_path}")
            bound = (d.bind_ok_at - t0) * 1000 if d.bind_ok_at else None
            self.rec("ttfb.ms", ms)
            if bound is not None:
                self.rec("ttfb.bind_ok_ms", bound)
            log(f"time to first byte {rep + 1}: {ms:.0f} ms (bind_ok " + (f"after {bound:.0f} ms)" if bound is not None else "line not seen)"))
            self.drop(d)

    def jfr_record(self, name, pids, fn):
        prof = os.path.join(self.work, "profile")
        os.makedirs(prof, exist_ok=True)
        files = {}
        for role, pid in pids.items():
            f = os.path.join(prof, f"{name}-{role}.jfr")
            r = run([JCMD, str(pid), "JFR.start", "name=bench", "settings=profile",
                     "jdk.CPUTimeSample#enabled=true", "jdk.CPUTimeSample#throttle=2ms", f"filename={f}"], 60)
            if r.returncode != 0:
                raise RuntimeError("JFR.start: " + r.stdout + r.stderr)
            files[role] = f
        cs0 = {role: ctx_switches(pid) for role, pid in pids.items()}
        out, cpu, wall = self.with_cpu(list(pids.values()), fn)
        cs = {role: ctx_switches(pid) - cs0[role] for role, pid in pids.items()}
        for role, pid in pids.items():
            run([JCMD, str(pid), "JFR.stop", "name=bench"], 60)
        return files, out, cpu, wall, cs

    def phase_profile(self):
        secs = self.args.profile_secs
        log(f"JFR: iperf3 1 stream through PULL, {secs}s")
        files, (gbps, nbytes), cpu, wall, cs = self.jfr_record(
            "pull-iperf3", {"kit": self.kit.pid, "driver": self.dpull.pid}, lambda: self.iperf3(self.p_iperf, 1, secs=secs))
        self.extra["profile_pull"] = dict(files=files, gbps=gbps, bytes=nbytes, cpu_s=cpu, wall_s=wall, ctx=cs,
                                          frames=nbytes / 65536)
        log(f"JFR: wrk -c50 through EXPOSE, {secs}s")
        files, v, cpu, wall, cs = self.jfr_record(
            "expose-wrk50", {"kit": self.kit.pid, "driver": self.dexpose.pid}, lambda: self.wrk(self.e_http, 50, secs=secs))
        self.extra["profile_expose"] = dict(files=files, rps=v["rps"], requests=v["requests"], cpu_s=cpu, wall_s=wall,
                                            ctx=cs, p99_us=v["p99_us"])
        c = self.args.close_conns
        log(f"JFR: wrk -c{c} with Connection: close through EXPOSE, {secs}s")
        files, v, cpu, wall, cs = self.jfr_record(
            f"expose-close{c}", {"kit": self.kit.pid, "driver": self.dexpose.pid},
            lambda: self.wrk(self.e_http, c, secs=secs, close=True))
        self.extra["profile_close"] = dict(files=files, rps=v["rps"], requests=v["requests"], cpu_s=cpu, wall_s=wall,
                                           ctx=cs, p99_us=v["p99_us"], conns=c)

    def analyse_profiles(self):
        import jfr_cpu
        out_dir = os.path.join(BENCH, "profile")
        os.makedirs(out_dir, exist_ok=True)
        for old in os.listdir(out_dir):
            if old.endswith(".txt"):
                os.remove(os.path.join(out_dir, old))
        views = ["cpu-time-hot-methods", "hot-methods", "allocation-by-site", "allocation-by-class", "contention-by-site",
                 "pinned-threads", "gc-pauses"]
        summary = {}
        what = {"profile_pull": "iperf3 -P 1 through PULL", "profile_expose": "wrk -c50 through EXPOSE",
                "profile_close": f"wrk -c{self.args.close_conns} with `Connection: close` through EXPOSE"}
        for key in what:
            p = self.extra.get(key)
            if not p:
                continue
            for role, f in p["files"].items():
                base = os.path.splitext(os.path.basename(f))[0]
                texts = {}
                for v in views:
                    r = run([JFR, "view", "--width", "200", v, f], 300)
                    texts[v] = r.stdout if r.returncode == 0 else (r.stdout + r.stderr)
                cpu = jfr_cpu.summarise(f, 15)
                alloc = jfr_cpu.allocated_bytes(f)
                gc = jfr_cpu.gc_pauses(f)
                summary[base] = dict(gc=gc, views={k: "\n".join(t.splitlines()[:40]) for k, t in texts.items()}, cpu=cpu, allocated=alloc, workload=key, role=role,
                                     park_events=jfr_cpu.count_events(f, "jdk.ThreadPark"),
                                     monitor_events=jfr_cpu.count_events(f, "jdk.JavaMonitorEnter"),
                                     pinned_events=jfr_cpu.count_events(f, "jdk.VirtualThreadPinned"))
                with open(os.path.join(out_dir, base + ".txt"), "w") as fh:
                    fh.write(f"# {base}: JFR (settings=profile + jdk.CPUTimeSample every 2 ms of CPU) of the {role} during "
                             f"{what[key]}\n\n")
                    fh.write("==== CPU (bench/lib/jfr_cpu.py) ====\n" + jfr_cpu.render(cpu) + "\n\n")
                    fh.write(f"Java heap allocated during the recording (jdk.ThreadAllocationStatistics): {alloc} bytes\n")
                    fh.write(f"GC (collections, total pause ms, longest pause ms): {gc}\n\n")
                    for v in views:
                        fh.write(f"==== jfr view {v} ====\n{texts[v]}\n")
        self.extra["profile_views"] = summary

    # --- main --------------------------------------------------------------------------------------------------

    def machine(self):
        def cmd(argv):
            try:
                r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
                return (r.stdout + r.stderr).strip()
            except OSError:
                return "?"
        mem_kib = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
        cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
        commit = cmd(["git", "-C", REPO, "rev-parse", "HEAD"])
        dirty = cmd(["git", "-C", REPO, "status", "--porcelain", "--", "src", "pom.xml"])
        return dict(
            date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            nproc=os.cpu_count(), ram_gib=round(mem_kib / 1024 / 1024, 1), cpu=cpu.group(1) if cpu else "?",
            kernel=platform.release(), jdk=cmd([JAVA, "-version"]).splitlines()[1] if cmd([JAVA, "-version"]) else "?",
            commit=commit, branch=cmd(["git", "-C", REPO, "rev-parse", "--abbrev-ref", "HEAD"]),
            src_dirty=bool(dirty), openssh=cmd(["ssh", "-V"]), nginx=cmd(["nginx", "-v"]).replace("nginx version: ", ""),
            iperf3=cmd(["iperf3", "--version"]).splitlines()[0], wrk=cmd(["wrk", "--version"]).splitlines()[0].split(" [")[0],
            python=platform.python_version(), ssh_cipher=SSH_CIPHER, kit_jvm=" ".join(self.kit_jvm),
            close_conns=self.args.close_conns, idle_data_kib=self.args.idle_data_kib,
            sysctl={k: sysctl(k) for k in ("net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range",
                                           "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_timestamps", "net.core.somaxconn")},
            rss_variant=self.args.rss_variant, secs=self.secs, reps=self.reps, download_mib=self.args.download_mib,
            nofile=subprocess.run(["sh", "-c", "ulimit -n"], capture_output=True, text=True).stdout.strip())

    def wait_quiet(self):
        """This machine may be shared: wait (bounded) until other processes use less than 0.3 cores."""
        deadline = time.monotonic() + self.args.wait_quiet
        while True:
            c0, t0 = machine_task_cpu(), time.monotonic()
            time.sleep(3)
            busy = (machine_task_cpu() - c0) / (time.monotonic() - t0)
            if busy < 0.3 or time.monotonic() > deadline:
                self.extra["busy_before_start"] = round(busy, 2)
                log(f"other processes use {busy:.2f} cores; starting")
                return
            log(f"other processes use {busy:.2f} cores; waiting for a quieter machine")

    def main(self):
        self.extra["machine"] = self.machine()
        if "http" in self.args.phases and sysctl("net.ipv4.tcp_tw_reuse") == "0":
            log("warning: net.ipv4.tcp_tw_reuse is 0: the `Connection: close` runs leave TIME_WAIT sockets at wrk's end "
                "that may use up the ephemeral ports (wrk then counts connect errors); the bench does not change sysctls")
        if self.args.wait_quiet > 0:
            self.wait_quiet()
        self.start_services()
        log("services up: iperf3", self.t_iperf, "nginx", self.t_http, "idle", self.t_idle, "sshd", self.s_sshd)
        phases = self.args.phases.split(",")
        self.extra["loadavg_start"] = open("/proc/loadavg").read().split()[:3]
        if "rss" in phases:
            self.phase("idle RSS")
            self.phase_idle_rss()
        self.phase("start")
        self.start_main()
        if {"bulk", "http", "profile"} & set(phases):
            self.phase("warm-up")
            self.phase_warmup()
        if "ttfb" in phases:
            self.phase("time to first byte")
            self.phase_ttfb()
        if "bulk" in phases:
            self.phase("bulk")
            self.phase_bulk()
        if "http" in phases:
            self.phase("http")
            self.phase_http()
        if "shards" in phases:
            self.phase("v1 vs v2")
            self.phase_shards()
        if "profile" in phases:
            self.phase("profile")
            self.phase_profile()
        self.extra["kit_log_warnings"] = self.kit_warnings()
        if "idle" in phases:
            self.phase("idle streams")
            self.restart_main()  # a fresh kit, so that RSS growth per stream is not hidden by memory a bulk run left
            self.phase_idle_streams()
            self.extra["kit_log_warnings"] += self.kit_warnings()
        self.phase("end")
        self.cleanup()
        if "profile" in phases:
            log("analysing JFR recordings")
            self.analyse_profiles()
        self.extra["elapsed_s"] = time.monotonic() - self.t_start


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=3, help="repetitions of every measurement (median reported)")
    ap.add_argument("--secs", type=int, default=5, help="duration of each iperf3 and wrk run")
    ap.add_argument("--idle", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10000])
    ap.add_argument("--ttfb-reps", type=int, default=5)
    ap.add_argument("--profile-secs", type=int, default=15)
    ap.add_argument("--warmup-secs", type=int, default=10, help="JIT warm-up of each tunnel path before measuring")
    ap.add_argument("--download-mib", type=int, default=1024)
    ap.add_argument("--kit-jvm", default=" ".join(KIT_JVM),
                    help="JVM flags of the kit measured for throughput, latency and idle streams")
    ap.add_argument("--aot-app", default=os.path.join(REPO, "target", "bench-aot"),
                    help="aot-jar build of the kit (run.sh makes it) for the idle RSS with the image's AOT cache")
    ap.add_argument("--rss-variant", default="",
                    help="extra kit JVM flags measured for idle RSS as an informational variant ('' to skip)")
    ap.add_argument("--close-conns", type=int, default=50, help="connections of the `Connection: close` workload")
    ap.add_argument("--idle-data-kib", type=int, default=16,
                    help="KiB each idle stream echoes each way before going idle in the 'used' runs (0: fresh only)")
    ap.add_argument("--shard-variants", default="v1=;v2x1=--shards 1;v2x2=--shards 2;v2x4=--shards 4",
                    help="v1-vs-v2 phase: NAME=EXTRA DRIVER ARGS;... (skipped while the driver has no --shards)")
    ap.add_argument("--shard-streams", type=int, default=16, help="v1-vs-v2 phase: iperf3 parallel streams")
    ap.add_argument("--shard-conns", type=int, default=64, help="v1-vs-v2 phase: wrk connections")
    ap.add_argument("--shard-slow-index", type=int, default=0, help="v1-vs-v2 phase: which driver socket is slowed")
    ap.add_argument("--shard-slow-kib", type=int, default=8192, help="v1-vs-v2 phase: KiB/s each way on the slow socket")
    ap.add_argument("--shard-slow-rcvbuf", type=int, default=4096, help="v1-vs-v2 phase: SO_RCVBUF on the slow socket")
    ap.add_argument("--wait-quiet", type=int, default=120,
                    help="wait up to this many seconds for other processes to use < 0.3 cores before starting")
    ap.add_argument("--phases", default="rss,ttfb,bulk,http,idle,shards,profile")
    ap.add_argument("--out", default=os.path.join(BENCH, "results.json"))
    ap.add_argument("--report", default=os.path.join(BENCH, "RESULTS.md"), help="where to write the results")
    ap.add_argument("--table", default=os.path.join(BENCH, "README-table.md"),
                    help="where to write the headline table for README's Performance section")
    ap.add_argument("--render-only", action="store_true", help="re-render RESULTS.md from --out without measuring")
    args = ap.parse_args()

    sys.path.insert(0, LIB)
    import report  # noqa: E402

    if args.render_only:
        with open(args.out) as f:
            saved = json.load(f)
        report.write(saved, args.report, args.table)
        return

    b = Bench(args)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, on_signal)
    try:
        b.main()
    except BaseException:
        log("failed; logs are in", b.work)
        raise
    finally:
        b.cleanup()
    saved = dict(data=b.data, extra=b.extra)
    with open(args.out, "w") as f:
        json.dump(saved, f, indent=1, default=str)
    report.write(saved, args.report, args.table)
    log(f"done in {b.extra['elapsed_s']:.0f}s; wrote {args.report} and {args.table}; logs in {b.work}")


if __name__ == "__main__":
    main()
