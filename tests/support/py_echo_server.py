#!/usr/bin/env python3
"""Interop peer: Python's `websockets` server on loopback (Debian package
python3-websockets). Started by tests/support/peers.ts; not a test itself.

Usage: python3 py_echo_server.py [--compression]
                                          (binds 127.0.0.1, a free port;
                                          --compression: permessage-deflate
                                          on, websockets' default settings)

Prints one line, {"port": N, ...}, once listening, then for each
connection {"open": path} once it is open and {"close": code, "reason":
reason} once it has ended (the close frame the client sent, or code 1006). Exits when its stdin reaches end of
file (the parent closed it or died), so it never outlives the test.

Endpoints (same contract as the Deno and npm `ws` peers in peers.ts):
  /echo                  echo every message with its type
  /fragmented?size=N     echo every message back fragmented into N-unit
                         pieces (characters for text, bytes for binary); a
                         ping "mid-message K" (K = 1, 2, ...) is sent between
                         the first two fragments and the message ends with
                         an empty final frame
  /ping?payload=P&wait=MS
                         ping with payload P, wait for the matching pong
                         (MS ms, default 2000), then send text "pong:P";
                         no pong: close 4001 "no pong"
  /close?code=C&reason=R&send=S
                         send text S first (if given), then close with C, R
  /headers               send {"path": ..., "headers": {lower-name: value}}
  /protocol              send the negotiated subprotocol ("" for none)
  /extensions            send the Sec-WebSocket-Extensions the server answered
  /forbidden             refuse the upgrade: 403, header X-Refused: yes
After its first action every endpoint echoes. Subprotocols: the first one
the client offers among SUBPROTOCOLS is selected.
"""

import asyncio
import json
import logging
import sys
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import websockets

from py_peer_io import emit, stop_on_stdin_eof

SUBPROTOCOLS = ["nexus.v2", "nexus.v1"]
MAX_SIZE = 64 * 1024 * 1024

logging.basicConfig(
    level=logging.WARNING,
    stream=sys.stderr,
    format="py-peer %(levelname)s %(name)s: %(message)s",
)


def pick(client_offers):
    for p in client_offers:
        if p in SUBPROTOCOLS:
            return p
    return None


def chunks(message, size):
    size = max(1, size)
    return [message[i:i + size] for i in range(0, len(message), size)] or [message]


async def handle(ws, path, headers):
    url = urlsplit(path)
    query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    route = url.path
    if route == "/fragmented":
        size = int(query.get("size", "7"))
        count = 0
        async for message in ws:
            pieces = chunks(message, size)
            count += 1
            # Unique payloads: websockets refuses a ping whose payload is still awaiting its pong.
            ping = b"mid-message %d" % count

            async def fragments():
                for i, piece in enumerate(pieces):
                    yield piece
                    if i == 0:
                        waiter = await ws.ping(ping)
                        # Retrieve its outcome, so a close before the pong logs nothing.
                        waiter.add_done_callback(lambda f: f.cancelled() or f.exception())

            await ws.send(fragments())
        return
    if route == "/ping":
        payload = query.get("payload", "nexus-ping")
        waiter = await ws.ping(payload.encode())
        try:
            await asyncio.wait_for(waiter, int(query.get("wait", "2000")) / 1000)
        except asyncio.TimeoutError:
            await ws.close(4001, "no pong")
            return
        await ws.send("pong:" + payload)
    elif route == "/close":
        if "send" in query:
            await ws.send(query["send"])
        await ws.close(int(query.get("code", "1000")), query.get("reason", ""))
        return
    elif route == "/headers":
        await ws.send(json.dumps({
            "path": path,
            "headers": {k.lower(): v for k, v in headers.raw_items()},
        }))
    elif route == "/protocol":
        await ws.send(ws.subprotocol or "")
    elif route == "/extensions":
        # legacy API (websockets < 13): response_headers; new: response.headers
        answered = ws.response.headers if hasattr(ws, "response") else ws.response_headers
        await ws.send(answered.get("Sec-WebSocket-Extensions", ""))
    async for message in ws:
        await ws.send(message)


async def serve_connection(ws, path, headers):
    emit({"open": path})
    try:
        await handle(ws, path, headers)
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.wait_closed()
        code = ws.close_code
        emit({"close": 1006 if code is None else code, "reason": ws.close_reason or ""})


async def main():
    loop = asyncio.get_running_loop()
    stop = stop_on_stdin_eof(loop)
    options = dict(
        subprotocols=SUBPROTOCOLS,
        compression="deflate" if "--compression" in sys.argv else None,
        max_size=MAX_SIZE,
        ping_interval=None,
        close_timeout=1,
    )
    try:
        # websockets >= 13: the new asyncio implementation.
        from websockets.asyncio.server import serve

        def refuse(conn, request):
            if urlsplit(request.path).path == "/forbidden":
                response = conn.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")
                response.headers["X-Refused"] = "yes"
                return response
            return None

        async def handler(conn):
            await serve_connection(conn, conn.request.path, conn.request.headers)

        server = await serve(
            handler, "127.0.0.1", 0,
            select_subprotocol=lambda conn, offers: pick(offers),
            process_request=refuse,
            **options,
        )
    except ImportError:
        # websockets 10.x - 12.x (Debian bookworm ships 10.4): the legacy API.
        async def refuse(path, request_headers):
            if urlsplit(path).path == "/forbidden":
                return HTTPStatus.FORBIDDEN, [("X-Refused", "yes")], b"Forbidden\n"
            return None

        async def handler(ws):
            await serve_connection(ws, ws.path, ws.request_headers)

        server = await websockets.serve(
            handler, "127.0.0.1", 0,
            select_subprotocol=lambda offers, supported: pick(offers),
            process_request=refuse,
            **options,
        )
    emit({"port": server.sockets[0].getsockname()[1], "websockets": websockets.__version__})
    await stop
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
