#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A test backend: a TCP server that names itself, then echoes.

    echo_server.py PORT NAME

Each connection first gets the line "NAME\\n", then every line it sends
back as it came. One thread, asyncio: hundreds of connections cost little.
Listens on every IPv4 address (the VIP held on lo included).
"""
import asyncio
import sys


async def serve(reader, writer, name):
    try:
        writer.write(name + b"\n")
        await writer.drain()
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(line)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main():
    port, name = int(sys.argv[1]), sys.argv[2].encode()
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, name), "0.0.0.0", port, backlog=512,
        reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
