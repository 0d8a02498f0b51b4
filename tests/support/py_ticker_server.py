#!/usr/bin/env python3
"""Test peer: Python's `websockets` server (Debian package python3-websockets)
that pings every second and drops a client that has not answered a ping
within 3 seconds (websockets' own keepalive: ping_interval=1,
ping_timeout=3, close code 1011), while sending each connection a numbered
text message {"seq": N} every 100 ms (N = 0, 1, 2, ...). Started by
tests/support/peers.ts (startPythonTicker); not a test itself.

Prints {"port": N} once listening, then {"open": path} and {"close": code,
"reason": reason} per connection, like py_echo_server.py. Exits when its
stdin reaches end of file.
"""

import asyncio
import json

import websockets

from py_peer_io import emit, stop_on_stdin_eof

TICK_S = 0.1


async def serve_connection(ws, path):
    emit({"open": path})
    try:
        seq = 0
        while True:
            await ws.send(json.dumps({"seq": seq}))
            seq += 1
            await asyncio.sleep(TICK_S)
    except websockets.ConnectionClosed:
        pass
    finally:
        code = ws.close_code
        emit({"close": 1006 if code is None else code, "reason": ws.close_reason or ""})


async def main():
    loop = asyncio.get_running_loop()
    stop = stop_on_stdin_eof(loop)
    options = dict(ping_interval=1, ping_timeout=3, close_timeout=1)
    try:
        # websockets >= 13: the new asyncio implementation.
        from websockets.asyncio.server import serve

        async def handler(conn):
            await serve_connection(conn, conn.request.path)

        server = await serve(handler, "127.0.0.1", 0, **options)
    except ImportError:
        # websockets 10.x - 12.x (Debian bookworm ships 10.4): the legacy API.
        async def handler(ws):
            await serve_connection(ws, ws.path)

        server = await websockets.serve(handler, "127.0.0.1", 0, **options)
    emit({"port": server.sockets[0].getsockname()[1]})
    await stop
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
