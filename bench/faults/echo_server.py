#!/usr/bin/env python3
"""The laptop-side TCP target of the PULL traffic: echoes every byte back and ends its side after the client ends
its own (half-close), so a client can tell a clean end from a cut. Usage: echo_server.py PORT"""
import asyncio
import sys


async def handle(reader, writer):
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.write_eof()
        await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096, reuse_address=True)
    print("listening", port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
