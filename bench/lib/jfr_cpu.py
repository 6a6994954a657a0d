#!/usr/bin/env python3
"""Summarises where CPU goes in a JFR recording made with jdk.CPUTimeSample enabled (JDK 25, Linux): unlike
jdk.ExecutionSample it also samples threads inside native code (socket reads and writes), which is where a tunnel
spends most of its time. Falls back to jdk.ExecutionSample when there are no CPU-time samples.

Usage: jfr_cpu.py FILE.jfr [--top N] [--json]
Prints: CPU by thread group, by self frame, by (self frame <- nearest application frame), by activity.
"""
import json
import os
import re
import subprocess
import sys
from collections import Counter

JFR = os.path.join(os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"), "bin", "jfr")

APP_PREFIXES = ("ai.hoody.", "io.netty.", "io.vertx.", "io.quarkus.", "io.smallrye.", "jdk.internal.net.http.")

# (activity, predicate on the list of "pkg.Class.method" frames, top first); the first match wins
ACTIVITIES = [
    ("WebSocket write syscall (kit: Netty; driver: WebSocketTransport)",
     lambda fs: fs[0].startswith("sun.nio.ch.") and "write" in fs[0].lower() and any(f.startswith(("io.netty.", "jdk.internal.net.http.", "ai.hoody.tunnel.driver.WebSocketTransport")) for f in fs)),
    ("WebSocket read syscall", lambda fs: fs[0].startswith("sun.nio.ch.") and "read" in fs[0].lower() and any(f.startswith(("io.netty.", "jdk.internal.net.http.", "ai.hoody.tunnel.driver.WebSocketTransport")) for f in fs)),
    ("local TCP socket write (Splice stream->socket)", lambda fs: fs[0].startswith("sun.nio.ch.") and "write" in fs[0] and any("streamToSocket" in f for f in fs)),
    ("local TCP socket read (Splice socket->stream)", lambda fs: fs[0].startswith("sun.nio.ch.") and "read" in fs[0].lower() and any("socketToStream" in f for f in fs)),
    ("other socket I/O syscalls", lambda fs: fs[0].startswith("sun.nio.ch.SocketDispatcher") or fs[0].startswith("sun.nio.ch.NioSocketImpl")),
    ("epoll wait / wake-ups (event loops, poller, eventfd)", lambda fs: fs[0].startswith(("sun.nio.ch.EPoll", "sun.nio.ch.EventFD", "sun.nio.ch.Poller", "sun.nio.ch.EPollPoller", "sun.nio.ch.SelectorImpl", "sun.nio.ch.EPollSelectorImpl"))),
    ("WebSocket masking (client frames)", lambda fs: any("websocket.Frame$Masker" in f or "MessageEncoder" in f and "mask" in f.lower() or "WebSocketTransport.maskedFrame" in f for f in fs[:3])),
    ("byte copies and buffer allocation", lambda fs: fs[0].startswith(("java.nio.Bits.", "jdk.internal.misc.Unsafe.copy", "jdk.internal.misc.Unsafe.setMemory", "java.lang.System.arraycopy", "io.netty.channel.nio.AbstractNioChannel.newDirectBuffer", "io.netty.buffer.", "java.nio.DirectByteBuffer", "java.nio.HeapByteBuffer", "java.util.Arrays.copyOf", "jdk.internal.util.ArraysSupport"))),
    ("virtual-thread scheduling (ForkJoinPool, park/unpark, continuations)", lambda fs: fs[0].startswith(("java.util.concurrent.ForkJoin", "java.lang.VirtualThread", "jdk.internal.vm.Continuation", "java.util.concurrent.locks.", "jdk.internal.misc.Unsafe.park", "jdk.internal.misc.Unsafe.unpark", "java.util.concurrent.LinkedTransferQueue"))),
    ("CompletableFuture / Mutiny / Vert.x promise plumbing", lambda fs: fs[0].startswith(("java.util.concurrent.CompletableFuture", "io.smallrye.mutiny.", "io.vertx.core.impl.future.", "io.netty.util.concurrent.DefaultPromise"))),
    ("hoody-tunnel code (self)", lambda fs: fs[0].startswith("ai.hoody.")),
    ("Netty / Vert.x / Quarkus code (self)", lambda fs: fs[0].startswith(("io.netty.", "io.vertx.", "io.quarkus.", "io.smallrye."))),
    ("JDK HttpClient / WebSocket code (self)", lambda fs: fs[0].startswith("jdk.internal.net.http.")),
]


def frames_of(event):
    out = []
    for f in (event["values"].get("stackTrace") or {}).get("frames", []):
        m = f["method"]
        out.append(m["type"]["name"].replace("/", ".") + "." + m["name"])
    return out


def thread_group(event):
    t = event["values"].get("eventThread") or event["values"].get("sampledThread") or {}
    name = t.get("javaName") or t.get("osName") or "?"
    if t.get("virtual"):
        name = "virtual:" + (name or "")
    name = re.sub(r"ses_[0-9a-f]+", "ses_*", name)
    return re.sub(r"\d+", "N", name) or "(unnamed virtual)"


def load(path):
    for event_type in ("jdk.CPUTimeSample", "jdk.ExecutionSample"):
        r = subprocess.run([JFR, "print", "--json", "--stack-depth", "64", "--events", event_type, path],
                           capture_output=True, text=True, timeout=600)
        try:
            events = json.loads(r.stdout)["recording"]["events"]
        except (ValueError, KeyError):
            events = []
        events = [e for e in events if not e["values"].get("failed") and (e["values"].get("stackTrace") or {}).get("frames")]
        if events:
            return event_type, events
    return None, []


def summarise(path, top=12):
    event_type, events = load(path)
    n = len(events) or 1
    by_thread, by_self, by_pair, by_activity = Counter(), Counter(), Counter(), Counter()
    for e in events:
        fs = frames_of(e)
        by_thread[thread_group(e)] += 1
        by_self[fs[0]] += 1
        app = next((f for f in fs[1:] if f.startswith("ai.hoody.")), None) or next((f for f in fs[1:] if f.startswith(APP_PREFIXES)), "-")
        by_pair[(fs[0], app)] += 1
        by_activity[next((name for name, pred in ACTIVITIES if pred(fs)), "other")] += 1

    def table(counter):
        return [(k, round(100.0 * c / n, 1)) for k, c in counter.most_common(top)]

    return dict(file=os.path.basename(path), event_type=event_type, samples=len(events),
                by_activity=table(by_activity), by_thread=table(by_thread), by_self=table(by_self),
                by_self_and_caller=[(f"{a}  <-  {b}", p) for (a, b), p in table(by_pair)])


def render(s):
    lines = [f"{s['file']}: {s['samples']} samples of {s['event_type']}"]
    for key, title in (("by_activity", "by activity"), ("by_thread", "by thread"), ("by_self", "by self frame"),
                       ("by_self_and_caller", "by self frame <- nearest application frame")):
        lines.append(f"  {title}:")
        lines += [f"    {p:5.1f}%  {k}" for k, p in s[key]]
    return "\n".join(lines)


if __name__ == "__main__":
    args = sys.argv[1:]
    top = 12
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i:i + 2]
    as_json = "--json" in args
    for p in [a for a in args if a != "--json"]:
        s = summarise(p, top)
        print(json.dumps(s) if as_json else render(s))


def allocated_bytes(path):
    """Bytes allocated on the Java heap during the recording: per thread, the growth of
    jdk.ThreadAllocationStatistics (virtual threads are counted on their carriers). The weights of
    jdk.ObjectAllocationSample are not used: for large arrays they overstate the total many times over."""
    r = subprocess.run([JFR, "print", "--json", "--events", "jdk.ThreadAllocationStatistics", path],
                       capture_output=True, text=True, timeout=600)
    try:
        events = json.loads(r.stdout)["recording"]["events"]
    except (ValueError, KeyError):
        return None
    per = {}
    for e in events:
        v = e["values"]
        key = (v.get("thread") or {}).get("javaThreadId") or (v.get("thread") or {}).get("osThreadId")
        per.setdefault(key, []).append((v["startTime"], int(v["allocated"])))
    return sum(max(a for _, a in l) - min(a for _, a in l) for l in per.values())


def gc_pauses(path):
    """(collections, total pause ms, longest pause ms) from jdk.GarbageCollection."""
    r = subprocess.run([JFR, "print", "--json", "--events", "jdk.GarbageCollection", path],
                       capture_output=True, text=True, timeout=600)
    try:
        events = json.loads(r.stdout)["recording"]["events"]
    except (ValueError, KeyError):
        return None

    def ms(s):
        m = re.match(r"PT(?:(\d+)M)?([\d.]+)S", s or "PT0S")
        return (int(m.group(1) or 0) * 60 + float(m.group(2))) * 1000 if m else 0.0
    pauses = [ms(e["values"].get("sumOfPauses")) for e in events]
    longest = [ms(e["values"].get("longestPause")) for e in events]
    return len(events), round(sum(pauses), 1), round(max(longest, default=0.0), 1)


def count_events(path, event_type):
    r = subprocess.run([JFR, "summary", path], capture_output=True, text=True, timeout=300)
    m = re.search(r"^\s*" + re.escape(event_type) + r"\s+(\d+)", r.stdout, re.M)
    return int(m.group(1)) if m else 0
