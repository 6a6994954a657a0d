#!/usr/bin/env python3
"""The container-side client of the idle-streams workload: opens N TCP connections to a PULL port and holds them.

Line protocol on stdin/stdout, so the orchestrator can measure the kit while everything is held open:
  prints  {"event":"connected","connected":N,"errors":E,"seconds":S}
  reads   "check"  -> writes one byte on every connection and waits for its echo through the tunnel;
                      prints {"event":"checked","alive":A,"dead":D,"seconds":S}
  reads   "close"  -> closes everything and exits.
Usage: idle_client.py PORT N [CONCURRENCY]"""
import asyncio
import json
import sys
import time


def say(**kw):
    print(json.dumps(kw), flush=True)


async def main(port, n, concurrency):
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
    say(event="connected", connected=len(conns), errors=len(errors), sample_error=errors[:3],
        seconds=round(time.monotonic() - t0, 3))

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
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 256))
