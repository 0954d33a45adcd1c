#!/usr/bin/env python3
"""A TCP proxy that adds a delay to every request, as a long network path would.

    delay_proxy.py LISTEN_PORT UPSTREAM_PORT [DELAY_MS] [RATE_BYTES_PER_S]

Bytes from a client are held DELAY_MS (default 20) before they go upstream: a request head
arrives as one read, so each request waits one delay, as it would behind a 20 ms round trip.
RATE, when given, paces each connection's answers to that many bytes a second. Loopback only;
stops when killed.
"""

import asyncio
import sys


async def pump(reader, writer, delay, rate):
    try:
        while True:
            data = await reader.read(64 * 1024)
            if not data:
                break
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
            if rate:
                await asyncio.sleep(len(data) / rate)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    listen, upstream = int(sys.argv[1]), int(sys.argv[2])
    delay = (float(sys.argv[3]) if len(sys.argv) > 3 else 20.0) / 1000
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0

    async def handle(client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pump(client_reader, up_writer, delay, 0.0),
            pump(up_reader, client_writer, 0.0, rate),
        )

    server = await asyncio.start_server(handle, "127.0.0.1", listen, backlog=512)
    async with server:
        await server.serve_forever()


asyncio.run(main())
