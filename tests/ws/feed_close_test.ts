/**
 * Closing a reconnecting feed the way a host evicting the process needs
 * it: promptly, with a clean closing handshake upstream, also while a
 * `recv()` is pending and messages are still arriving.
 */
import assert from "node:assert/strict";
import { bounded } from "../support/timers.ts";
import { reconnecting, type WsClient } from "../../mod.ts";
import { rawServer, serverFrame } from "../support/raw_server.ts";

const encoder = new TextEncoder();

/** Reads until the client's (masked) close frame has arrived. */
async function untilCloseFrame(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) {
      throw new Error("Expected a close frame, got end of stream");
    }
    if (buf.subarray(0, n).includes(0x88)) return;
  }
}

Deno.test(
  "close() while a recv() is pending: a message arriving with the close echo is not returned, the pending recv() gives null, and the closing handshake completes at once",
  bounded(15_000, async () => {
    const server = rawServer(async (conn) => {
      await conn.write(serverFrame(0x1, encoder.encode("tick 1")));
      await untilCloseFrame(conn);
      // One write: a last tick, then the echo of 1001.
      const late = serverFrame(0x1, encoder.encode("late"));
      const echo = serverFrame(0x8, new Uint8Array([0x03, 0xe9]));
      const both = new Uint8Array(late.length + echo.length);
      both.set(late);
      both.set(echo, late.length);
      await conn.write(both);
      conn.close(); // the TCP end follows the closing handshake
    });
    let upstream: WsClient | null = null;
    const feed = reconnecting(server.url, {
      connect: { closeTimeout: 10_000 },
      onConnect: (ws) => void (upstream = ws),
    });
    assert.equal((await feed.recv())?.text(), "tick 1");
    const pending = feed.recv(); // waits on the socket
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    await feed.close(1001, "going away");
    assert.equal(await pending, null);
    assert.equal(upstream!.closeCode, 1001, "the server's echo was read");
    assert.ok(performance.now() - t0 < 10_000);
    await server.close();
  }),
);
