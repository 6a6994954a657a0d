#!/usr/bin/env python3
"""Mixed checked traffic for the fault harness and the soak (bench/faults/faults.py starts it; standard library only).

EXPOSE: keep-alive HTTP/1.1 clients fetch files of known SHA-256 from the laptop's web server through the kit's
EXPOSE ports. PULL: TCP clients send random payloads through the kit's PULL ports to the laptop's echo server and
check what comes back. Every outcome is classified (see OUTCOMES); every byte received is compared with what was
sent or served, so a wrong byte is caught even in a body that ends early.

Control on stdin, one word a line: `pause` (every client finishes what it is doing, closes its connection and
waits; prints {"event":"paused"} once all are idle), `resume`, `stop`. Every --report-every seconds it prints
{"event":"stats","counts":{...},"open":N,"busy":N,"samples":{...}} with cumulative counts.
Usage: traffic.py --files DIR --expose-ports P,... --pull-ports P,... [--http-clients N] [--pull-clients N] ..."""
import argparse
import asyncio
import hashlib
import json
import os
import random
import sys
import time

# outcome -> how it counts. "ok": checked and intact. "visible": the client knows it failed (an HTTP error status,
# a TCP reset or refusal, or an end it can tell is early because Content-Length or the echo length says so).
# "bad": silent corruption, a stuck request or an answer nobody should give; must stay at 0.
OUTCOMES = {
    "ok": "ok",
    "status_502": "visible", "status_503": "visible", "status_504": "visible",
    "reset": "visible",            # ECONNRESET / EPIPE at any point (the kit's abort is a TCP reset)
    "refused": "visible",          # ECONNREFUSED (a released PULL port, a kit that is down)
    "eof_no_status": "visible",    # clean close before any status line on a fresh connection
    "eof_idle_keepalive": "visible",  # clean close before the status line of a reused keep-alive connection
    "short_eof": "visible",        # clean close before Content-Length / the echo length: detectable only by length
    "close_reset": "visible",      # PULL: every round echoed intact, then a reset instead of a clean end
    "corrupt": "bad",              # a byte differs from what was served or sent, or more bytes than sent
    "stuck": "bad",                # no progress within --timeout
    "unexpected_status": "bad",    # an HTTP status other than 200, 502, 503, 504
    "bad_response": "bad",         # an unparsable status line or header
}
SAMPLES_PER_KEY = 4


class Stats:
    def __init__(self):
        self.counts = {}
        self.samples = {}
        self.bytes = 0

    def add(self, kind, outcome, detail=None):
        key = f"{kind}.{outcome}"
        self.counts[key] = self.counts.get(key, 0) + 1
        if detail and outcome != "ok":
            s = self.samples.setdefault(key, [])
            if len(s) < SAMPLES_PER_KEY:
                s.append(f"{time.strftime('%H:%M:%S')} {detail}"[:300])


class Gate:
    """Pause/resume for all clients; counts the clients not parked at the gate."""

    def __init__(self, n):
        self.open_ev = asyncio.Event()
        self.open_ev.set()
        self.total = n
        self.parked = 0
        self.paused_reported = False

    async def wait(self):
        if self.open_ev.is_set():
            return
        self.parked += 1
        try:
            await self.open_ev.wait()
        finally:
            self.parked -= 1

    @property
    def paused(self):
        return not self.open_ev.is_set()


def classify_os_error(e):
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    return "reset"  # ConnectionResetError, BrokenPipeError, ConnectionAbortedError, other socket errors


class Files:
    def __init__(self, d, weights):
        self.items = []
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            self.items.append((name, data, hashlib.sha256(data).hexdigest()))
        w = dict(weights)
        self.weights = [w.get(name, 1) for name, _, _ in self.items]

    def pick(self):
        return random.choices(self.items, self.weights)[0]


async def http_client(port, files, stats, gate, a, conns):
    reader = writer = None
    reused = False

    def drop():
        nonlocal reader, writer, reused
        if writer is not None:
            writer.transport.abort()
            conns[0] -= 1
        reader = writer = None
        reused = False

    while not a.stopping:
        if gate.paused:
            drop()
            await gate.wait()
            continue
        name, data, digest = files.pick()
        outcome, detail = "ok", None
        try:
            async with asyncio.timeout(a.timeout):
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    conns[0] += 1
                writer.write(f"GET /{name} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
                await writer.drain()
                line = await reader.readline()
                if not line:
                    outcome = "eof_idle_keepalive" if reused else "eof_no_status"
                    detail = f"port {port} /{name}: closed before the status line"
                else:
                    parts = line.split()
                    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
                        raise ValueError(f"status line {line[:80]!r}")
                    status = int(parts[1])
                    length, close = None, False
                    while True:
                        h = await reader.readline()
                        if not h:
                            raise ConnectionResetError("clean close inside the response header")
                        if h in (b"\r\n", b"\n"):
                            break
                        k, _, v = h.partition(b":")
                        k = k.strip().lower()
                        if k == b"content-length":
                            length = int(v.strip())
                        elif k == b"connection" and v.strip().lower() == b"close":
                            close = True
                    if status != 200:
                        body = await reader.read(length or 0) if length else b""
                        outcome = f"status_{status}" if status in (502, 503, 504) else "unexpected_status"
                        detail = f"port {port} /{name}: {status} {body[:160]!r}"
                        close = True
                    elif length != len(data):
                        outcome, detail = "corrupt", f"port {port} /{name}: 200 with Content-Length {length}, file has {len(data)}"
                        close = True
                    else:
                        h = hashlib.sha256()
                        got = 0
                        while got < length:
                            chunk = await reader.read(min(1 << 16, length - got))
                            if not chunk:
                                break
                            if chunk != data[got:got + len(chunk)]:
                                outcome = "corrupt"
                                detail = f"port {port} /{name}: byte(s) differ in [{got}, {got + len(chunk)})"
                                break
                            h.update(chunk)
                            got += len(chunk)
                        stats.bytes += got
                        if outcome == "ok" and got < length:
                            outcome, detail = "short_eof", f"port {port} /{name}: clean close after {got} of {length} bytes"
                        elif outcome == "ok" and h.hexdigest() != digest:
                            outcome, detail = "corrupt", f"port {port} /{name}: SHA-256 differs"
                        if outcome != "ok":
                            close = True
                    if close:
                        drop()
                    else:
                        reused = True
        except TimeoutError:
            outcome, detail = "stuck", f"port {port} /{name}: nothing for {a.timeout}s (reused={reused})"
        except ValueError as e:
            outcome, detail = "bad_response", f"port {port} /{name}: {e}"
        except OSError as e:
            outcome, detail = classify_os_error(e), f"port {port} /{name}: {e!r}"
        except asyncio.IncompleteReadError as e:
            outcome, detail = "reset", f"port {port} /{name}: {e!r}"
        if outcome != "ok":
            drop()
        stats.add("http", outcome, detail)
        if outcome != "ok":
            await asyncio.sleep(random.uniform(0.05, 0.25))  # do not spin on a refusing port
        elif a.think_ms:
            await asyncio.sleep(random.uniform(0.5, 1.5) * a.think_ms / 1000)


async def pull_client(port, stats, gate, a, conns):
    while not a.stopping:
        if gate.paused:
            await gate.wait()
            continue
        rounds = random.randint(a.rounds_min, a.rounds_max)
        outcome, detail = "ok", None
        writer = None
        done_rounds = 0
        try:
            async with asyncio.timeout(a.timeout):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            conns[0] += 1
            for r in range(rounds):
                if gate.paused or a.stopping:
                    break
                size = random.randint(a.pull_min, a.pull_max)
                payload = random.randbytes(size)
                want = hashlib.sha256(payload).hexdigest()
                writer.write(payload)  # the echo reads as we write; drain runs beside the reads
                drain = asyncio.ensure_future(writer.drain())
                h = hashlib.sha256()
                got = 0
                try:
                    async with asyncio.timeout(a.timeout):
                        while got < size:
                            chunk = await reader.read(min(1 << 16, size - got))
                            if not chunk:
                                break
                            if chunk != payload[got:got + len(chunk)]:
                                outcome = "corrupt"
                                detail = f"port {port} round {r}: byte(s) differ in [{got}, {got + len(chunk)}) of {size}"
                                break
                            h.update(chunk)
                            got += len(chunk)
                        if got == size:
                            await drain
                finally:
                    if not drain.done():
                        drain.cancel()
                    elif not drain.cancelled():
                        drain.exception()  # retrieved: the read above already tells what happened
                stats.bytes += got
                if outcome == "ok" and got < size:
                    outcome, detail = "short_eof", f"port {port} round {r}: clean close after {got} of {size} bytes"
                elif outcome == "ok" and h.hexdigest() != want:
                    outcome, detail = "corrupt", f"port {port} round {r}: SHA-256 differs"
                if outcome != "ok":
                    break
                stats.add("pull", "ok")
                done_rounds += 1
                if a.think_ms:
                    await asyncio.sleep(random.uniform(0.5, 1.5) * a.think_ms / 1000)
            if outcome == "ok":
                # A clean end: our FIN, then the echo's FIN with nothing more.
                writer.write_eof()
                try:
                    async with asyncio.timeout(a.timeout):
                        extra = await reader.read(1 << 16)
                    if extra:
                        outcome, detail = "corrupt", f"port {port}: {len(extra)} bytes after everything was echoed"
                except TimeoutError:
                    raise
                except OSError as e:
                    outcome, detail = "close_reset", f"port {port}: {e!r} after {done_rounds} intact rounds"
        except TimeoutError:
            outcome, detail = "stuck", f"port {port}: nothing for {a.timeout}s (round {done_rounds})"
        except OSError as e:
            outcome, detail = classify_os_error(e), f"port {port} round {done_rounds}: {e!r}"
        if writer is not None:
            writer.transport.abort()
            conns[0] -= 1
        if outcome != "ok":
            stats.add("pull", outcome, detail)
            await asyncio.sleep(random.uniform(0.05, 0.25))


async def main(a):
    files = Files(a.files, [(kv.split("=")[0], float(kv.split("=")[1])) for kv in a.weights.split(",") if kv])
    stats = Stats()
    expose = [int(p) for p in a.expose_ports.split(",") if p]
    pull = [int(p) for p in a.pull_ports.split(",") if p]
    n = (a.http_clients if expose else 0) + (a.pull_clients if pull else 0)
    gate = Gate(n)
    conns = [0]
    a.stopping = False
    tasks = []
    for i in range(a.http_clients if expose else 0):
        tasks.append(asyncio.create_task(http_client(expose[i % len(expose)], files, stats, gate, a, conns)))
    for i in range(a.pull_clients if pull else 0):
        tasks.append(asyncio.create_task(pull_client(pull[i % len(pull)], stats, gate, a, conns)))

    def say(**kw):
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()

    async def reporter():
        while True:
            await asyncio.sleep(a.report_every)
            say(event="stats", t=time.time(), counts=stats.counts, bytes=stats.bytes, open=conns[0],
                busy=n - gate.parked, samples=stats.samples)
            if gate.paused and gate.parked == n and not gate.paused_reported:
                gate.paused_reported = True
                say(event="paused", counts=stats.counts, open=conns[0])

    rep = asyncio.create_task(reporter())
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line == "pause":
            gate.paused_reported = False
            gate.open_ev.clear()
        elif line == "resume":
            gate.open_ev.set()
        elif line in ("stop", ""):
            a.stopping = True
            gate.open_ev.set()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            rep.cancel()
            say(event="stats", t=time.time(), counts=stats.counts, bytes=stats.bytes, open=0, busy=0,
                samples=stats.samples)
            say(event="stopped")
            return


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", required=True, help="directory of the files the web server serves")
    ap.add_argument("--weights", default="", help="name=weight,... (default 1 each)")
    ap.add_argument("--expose-ports", default="")
    ap.add_argument("--pull-ports", default="")
    ap.add_argument("--http-clients", type=int, default=16)
    ap.add_argument("--pull-clients", type=int, default=16)
    ap.add_argument("--pull-min", type=int, default=1024)
    ap.add_argument("--pull-max", type=int, default=1 << 20)
    ap.add_argument("--rounds-min", type=int, default=1)
    ap.add_argument("--rounds-max", type=int, default=3)
    ap.add_argument("--think-ms", type=float, default=0, help="mean pause between requests / rounds")
    ap.add_argument("--timeout", type=float, default=30, help="seconds without progress that count as stuck")
    ap.add_argument("--report-every", type=float, default=1.0)
    args = ap.parse_args()
    try:
        asyncio.run(main(args))
    except KeyboardInterrupt:
        pass
