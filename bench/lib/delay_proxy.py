#!/usr/bin/env python3
"""A TCP relay that adds a fixed one-way delay in each direction (a laptop far from its container), for measuring what
a round trip costs, e.g. early data's first byte (PROFILE-NOTES). Bytes keep their order; nothing is paced. Usage:
delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS"""
import asyncio
import sys


async def pipe(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def sender():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                writer.write_eof() if writer.can_write_eof() else writer.close()
                return
            writer.write(data)
            await writer.drain()

    task = asyncio.ensure_future(sender())
    try:
        while True:
            data = await reader.read(1 << 16)
            await queue.put((loop.time() + delay, data or None))
            if not data:
                break
        await task
    except (ConnectionError, OSError):
        task.cancel()
        writer.transport.abort()


async def main(listen, target, delay):
    async def handle(cr, cw):
        try:
            tr, tw = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            cw.transport.abort()
            return
        await asyncio.gather(pipe(cr, tw, delay), pipe(tr, cw, delay), return_exceptions=True)
        cw.close()
        tw.close()

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print("listening", listen, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000))
