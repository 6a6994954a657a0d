#!/usr/bin/env python3
"""The container-side client of the idle-streams workload: opens N TCP connections to a PULL port and holds them.

Line protocol on stdin/stdout, so the orchestrator can measure the kit while everything is held open:
  prints  {"event":"connected","connected":N,"errors":E,"seconds":S,
           "exchange_errors":X,"exchange_seconds":T}   (with --data-bytes B: every connection first sends B bytes
                                                        and reads them back through the echoing target, so that
                                                        the streams have carried data before they go idle)
  reads   "check"  -> writes one byte on every connection and waits for its echo through the tunnel;
                      prints {"event":"checked","alive":A,"dead":D,"seconds":S}
  reads   "close"  -> closes everything and exits.
Usage: idle_client.py PORT N [--concurrency C] [--data-bytes B]"""
import argparse
import asyncio
import json
import os
import sys
import time


def say(**kw):
    print(json.dumps(kw), flush=True)


async def main(port, n, concurrency, data_bytes):
    conns = []
    errors = []
    sem = asyncio.Semaphore(concurrency)

    async def open_one():
        async with sem:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
                conns.append((r, w))
            except Exception as e:  # noqa: BLE001 - every failure counts as an error
                errors.append(repr(e))

    t0 = time.monotonic()
    await asyncio.gather(*(open_one() for _ in range(n)))
    opened = time.monotonic() - t0
    connect_errors = len(errors)

    payload = os.urandom(data_bytes)

    async def exchange(rw):
        r, w = rw
        async with sem:
            try:
                w.write(payload)
                await w.drain()
                got = await asyncio.wait_for(r.readexactly(len(payload)), 120)
                if got != payload:
                    errors.append("echo differs")
                return got == payload
            except Exception as e:  # noqa: BLE001 - every failure counts as an error
                errors.append(repr(e))
                return False

    t1 = time.monotonic()
    exchanged = await asyncio.gather(*(exchange(c) for c in conns)) if data_bytes else []
    say(event="connected", connected=len(conns), errors=connect_errors,
        exchange_errors=sum(1 for x in exchanged if not x), sample_error=errors[:3], seconds=round(opened, 3),
        exchange_seconds=round(time.monotonic() - t1, 3) if data_bytes else None)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line == "check":
            t0 = time.monotonic()

            async def check(rw):
                r, w = rw
                async with sem:
                    try:
                        w.write(b"x")
                        await w.drain()
                        got = await asyncio.wait_for(r.readexactly(1), 60)
                        return got == b"x"
                    except Exception:  # noqa: BLE001
                        return False

            ok = await asyncio.gather(*(check(c) for c in conns))
            alive = sum(1 for x in ok if x)
            say(event="checked", alive=alive, dead=len(ok) - alive, seconds=round(time.monotonic() - t0, 3))
        elif line in ("close", ""):
            for _, w in conns:
                w.close()
            say(event="closed")
            return


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("n", type=int)
    ap.add_argument("--concurrency", type=int, default=256)
    ap.add_argument("--data-bytes", type=int, default=0)
    a = ap.parse_args()
    asyncio.run(main(a.port, a.n, a.concurrency, a.data_bytes))
