#!/usr/bin/env python3
"""A TCP relay between drivers and the kit that can cut every connection it carries, as a network or a proxy in
between would: on SIGUSR1 both ends of every relayed connection are closed with a TCP reset (SO_LINGER 0), and new
connections are relayed as before. Prints one JSON line per accepted connection and per cut.
Usage: relay.py LISTEN_PORT TARGET_PORT"""
import json
import signal
import socket
import struct
import sys
import threading

LINGER_0 = struct.pack("ii", 1, 0)
lock = threading.Lock()
pairs = set()


def say(**kw):
    print(json.dumps(kw), flush=True)


class Pair:
    """One relayed connection: the driver's end, the kit's end, and how many pumps still run."""

    def __init__(self, down, up):
        self.socks = (down, up)
        self.pumps = 2
        self.cut = False


def pump(src, dst, pair):
    try:
        while True:
            data = src.recv(1 << 16)
            if not data:
                break
            dst.sendall(data)
        if not pair.cut:
            dst.shutdown(socket.SHUT_WR)  # pass a clean half-close on
    except OSError:
        for s in pair.socks:
            try:
                s.shutdown(socket.SHUT_RD)
            except OSError:
                pass
    finally:
        with lock:
            pair.pumps -= 1
            last = pair.pumps == 0
            if last:
                pairs.discard(pair)
        if last:
            for s in pair.socks:
                try:
                    s.close()
                except OSError:
                    pass


def cut(*_):
    with lock:
        victims = list(pairs)
    for pair in victims:
        pair.cut = True
        for s in pair.socks:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_0)
                # SHUT_RD wakes the pump blocked in recv without sending anything; the close that follows (with
                # linger 0) sends the reset.
                s.shutdown(socket.SHUT_RD)
            except OSError:
                pass
    say(event="cut", connections=len(victims))


def main():
    listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
    signal.signal(signal.SIGUSR1, cut)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(128)
    say(event="listening", port=listen_port)
    while True:
        down, _ = ls.accept()
        up = socket.socket()
        try:
            up.connect(("127.0.0.1", target_port))
        except OSError as e:
            say(event="connect_failed", error=str(e))
            down.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_0)
            down.close()
            up.close()
            continue
        for s in (up, down):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pair = Pair(down, up)
        with lock:
            pairs.add(pair)
        say(event="accepted")
        threading.Thread(target=pump, args=(down, up, pair), daemon=True).start()
        threading.Thread(target=pump, args=(up, down, pair), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
