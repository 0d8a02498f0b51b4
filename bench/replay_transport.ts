/**
 * An in-memory transport that replays a feed: it answers the handshake,
 * then serves the same bytes again and again, 64 KiB per read as a socket
 * would. For benches that measure the client without a network.
 *
 * @module
 */

import type { Transport } from "../mod.ts";
import { acceptKey } from "../src/codec/ws/handshake.ts";

const READ_SIZE = 65536;
const CLOSE_1000 = new Uint8Array([0x88, 0x02, 0x03, 0xe8]);
const encoder = new TextEncoder();

/**
 * A transport that answers the first write (the handshake request) with a
 * `101`, then reads `blocks` copies of `body` and a close frame, then the
 * end of the stream. Writes after the handshake are discarded.
 */
export function replayTransport(
  body: Uint8Array,
  blocks: number,
): Transport {
  let answer: Uint8Array | null = null;
  let left = blocks, off = 0, closed = false, ended = false;
  return {
    read(p) {
      if (answer !== null) {
        const a = answer;
        answer = null;
        p.set(a);
        return Promise.resolve(a.length);
      }
      if (left > 0) {
        const n = Math.min(p.length, READ_SIZE, body.length - off);
        p.set(body.subarray(off, off + n));
        off += n;
        if (off === body.length) {
          off = 0;
          left--;
        }
        return Promise.resolve(n);
      }
      if (!closed) {
        closed = true;
        p.set(CLOSE_1000);
        return Promise.resolve(CLOSE_1000.length);
      }
      ended = true;
      return Promise.resolve(null);
    },
    write(p) {
      if (!ended && answer === null && off === 0 && left === blocks) {
        const key = /sec-websocket-key:\s*(\S+)/i.exec(
          new TextDecoder().decode(p),
        )?.[1];
        if (key !== undefined) {
          answer = encoder.encode(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
              `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
          );
        }
      }
      return Promise.resolve(p.length);
    },
    close() {},
  };
}
