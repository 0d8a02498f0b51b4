#!/usr/bin/env python3
"""Interop peer: an aiohttp or tornado WebSocket server with permessage-deflate
on (Debian packages python3-aiohttp, python3-tornado), on loopback. Started by
tests/support/peers.ts; not a test itself.

Usage: python3 py_deflate_server.py aiohttp|tornado

Prints one line, {"port": N, "version": V}, once listening, then
{"open": path} when a connection opens and {"close": code, "reason": r} when
it ends. Exits when its stdin reaches end of file (the parent closed it or
died), so it never outlives the test.

Endpoints (a subset of the peers.ts contract; neither framework can send a
fragmented message):
  /echo                  echo every message with its type
  /close?code=C&reason=R&send=S
                         send text S first (if given), then close with C, R
  /extensions            send the Sec-WebSocket-Extensions the server answered
After its first action every endpoint echoes.
"""

import asyncio
import sys
from urllib.parse import parse_qs, urlsplit

from py_peer_io import emit, stop_on_stdin_eof

MAX_SIZE = 64 * 1024 * 1024




def query_of(uri):
    return {k: v[-1] for k, v in parse_qs(urlsplit(uri).query, keep_blank_values=True).items()}



async def serve_aiohttp():
    import aiohttp
    from aiohttp import web, WSMsgType

    async def handler(request):
        ws = web.WebSocketResponse(compress=True, max_msg_size=MAX_SIZE, autoping=True)
        await ws.prepare(request)
        emit({"open": request.path_qs})
        route = request.path
        q = query_of(request.path_qs)
        if route == "/close":
            if "send" in q:
                await ws.send_str(q["send"])
            await ws.close(code=int(q.get("code", "1000")), message=q.get("reason", "").encode())
        else:
            if route == "/extensions":
                await ws.send_str(ws._headers.get("Sec-WebSocket-Extensions", ""))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await ws.send_str(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await ws.send_bytes(msg.data)
        emit({"close": ws.close_code if ws.close_code is not None else 1006, "reason": ""})
        return ws

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return port, aiohttp.__version__, runner.cleanup


async def serve_tornado():
    import tornado
    import tornado.httpserver
    import tornado.netutil
    import tornado.web
    import tornado.websocket

    class Echo(tornado.websocket.WebSocketHandler):
        def get_compression_options(self):
            return {}  # permessage-deflate on, tornado's defaults

        async def open(self, *args):
            emit({"open": self.request.uri})
            route = urlsplit(self.request.uri).path
            q = query_of(self.request.uri)
            if route == "/close":
                if "send" in q:
                    await self.write_message(q["send"])
                self.close(int(q.get("code", "1000")), q.get("reason", ""))
            elif route == "/extensions":
                await self.write_message(self._headers.get("Sec-WebSocket-Extensions", ""))

        async def on_message(self, message):
            await self.write_message(message, binary=isinstance(message, bytes))

        def on_close(self):
            code = self.close_code
            emit({"close": code if code is not None else 1006, "reason": self.close_reason or ""})

    app = tornado.web.Application([(r"/.*", Echo)], websocket_max_message_size=MAX_SIZE)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_SIZE)
    server.add_sockets(sockets)

    async def stop():
        server.stop()

    return sockets[0].getsockname()[1], tornado.version, stop


async def main(kind):
    loop = asyncio.get_running_loop()
    stop = stop_on_stdin_eof(loop)
    port, version, cleanup = await (serve_aiohttp() if kind == "aiohttp" else serve_tornado())
    emit({"port": port, "version": version})
    await stop
    await cleanup()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
