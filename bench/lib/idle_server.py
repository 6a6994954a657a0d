#!/usr/bin/env python3
"""The laptop-side target of the idle-streams workload: accepts connections and holds them open, echoing any
bytes it gets (so the client can prove a stream is still alive end to end). Usage: idle_server.py PORT"""
import asyncio
import sys


async def handle(reader, writer):
    try:
        while True:
            data = await reader.read(4096)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    print("listening", port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
