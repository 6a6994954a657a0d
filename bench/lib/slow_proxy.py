#!/usr/bin/env python3
"""A TCP relay between a driver and the kit that can make one of the driver's sockets slow (the v1-vs-v2 phase).

Every accepted connection is relayed to 127.0.0.1:TARGET. Connection number --slow-index (0 = the first one the
driver opens; -1 = none) gets a tiny receive buffer on the relay's socket to the kit (what the kit sends piles up in
the kit) and a paced reader in both directions (--rate-kib KiB/s each way), like a congested link or a peer that
reads slowly; the others are relayed
with splice(2) through a pipe, so the relay adds little CPU and no user-space copy. Prints one JSON line per
accepted connection on stdout. Usage: slow_proxy.py LISTEN_PORT TARGET_PORT [--slow-index K] [--rate-kib R]
[--rcvbuf BYTES]"""
import argparse
import fcntl
import json
import os
import socket
import sys
import threading
import time

CHUNK = 1 << 20
F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ from Python 3.10 on Linux


def say(**kw):
    print(json.dumps(kw), flush=True)


def close_quietly(*socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def relay_fast(src, dst):
    """src -> dst through a pipe with splice(2) until EOF; then half-close dst."""
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, F_SETPIPE_SZ, CHUNK)
    except OSError:
        pass  # keep the default 64 KiB pipe
    try:
        while True:
            n = os.splice(src.fileno(), w, CHUNK)
            if n == 0:
                break
            while n:
                n -= os.splice(r, dst.fileno(), n)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        close_quietly(src, dst)
    finally:
        os.close(r)
        os.close(w)


def relay_paced(src, dst, rate_bytes):
    """src -> dst, reading at most rate_bytes per second in 10 ms steps."""
    step = max(1, rate_bytes // 100)
    try:
        next_at = time.monotonic()
        while True:
            data = src.recv(step)
            if not data:
                break
            dst.sendall(data)
            next_at += 0.01 * len(data) / step
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                next_at = time.monotonic()
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        close_quietly(src, dst)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("listen_port", type=int)
    ap.add_argument("target_port", type=int)
    ap.add_argument("--slow-index", type=int, default=-1)
    ap.add_argument("--rate-kib", type=int, default=1024)
    ap.add_argument("--rcvbuf", type=int, default=4096)
    a = ap.parse_args()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.listen_port))
    ls.listen(128)
    say(event="listening", port=a.listen_port)
    index = 0
    while True:
        down, peer = ls.accept()
        slow = index == a.slow_index
        up = socket.socket()
        if slow:
            # Before connecting, so that the window scale agrees with it. (Shrinking the buffer of the already
            # accepted socket would make the kernel drop segments it had advertised room for: retransmission
            # timeouts, a different kind of slow.)
            up.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        try:
            up.connect(("127.0.0.1", a.target_port))
        except OSError as e:
            say(event="connect_failed", index=index, error=str(e))
            close_quietly(down, up)
            index += 1
            continue
        for s in (up, down):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        say(event="accepted", index=index, peer=f"{peer[0]}:{peer[1]}", slow=slow)
        if slow:
            rate = a.rate_kib * 1024
            pairs = [(relay_paced, (down, up, rate)), (relay_paced, (up, down, rate))]
        else:
            pairs = [(relay_fast, (down, up)), (relay_fast, (up, down))]
        for fn, args in pairs:
            threading.Thread(target=fn, args=args, daemon=True).start()
        index += 1


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
