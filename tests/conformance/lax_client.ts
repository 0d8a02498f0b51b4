/**
 * A deliberately configurable, minimal WebSocket client used only to test
 * the harness: switch off one rule at a time and the grader must catch it.
 * Built on the harness's own wire codec, never on `src/`.
 *
 * @module
 */

import type { Agent, AgentOutcome } from "./agents.ts";
import {
  concat,
  encodeFrame,
  FrameParser,
  type ParsedFrame,
  Utf8Check,
} from "./wire.ts";

/** Which rules the lax client keeps. */
export interface LaxOptions {
  /** `fast`: fail at the first invalid octet; `message`: only at the end of the message; `none`: never. */
  utf8?: "fast" | "message" | "none";
  /** Fail on non-zero RSV bits. */
  checkRsv?: boolean;
  /** Answer pings. */
  pong?: boolean;
  /** Answer the server's close: echo its code, send 1001 instead, or drop the TCP connection. */
  closeReply?: "echo" | "1001" | "drop";
  /** Send a handshake the server must refuse (version 8). */
  badHandshake?: boolean;
  /** Called with every complete frame the server sent (to count frames on the wire). */
  onFrame?(frame: ParsedFrame): void;
  /** A `Sec-WebSocket-Extensions` request header (the client cannot inflate: it only offers). */
  extensions?: string;
  /** Called with the server's response head. */
  onResponse?(head: string): void;
}

const encoder = new TextEncoder();

/** An agent running the lax client with `options`. */
export function laxAgent(options: LaxOptions = {}): Agent {
  const utf8Mode = options.utf8 ?? "fast";
  const checkRsv = options.checkRsv ?? true;
  const pong = options.pong ?? true;
  const closeReply = options.closeReply ?? "echo";
  return (url) => {
    let conn: Deno.TcpConn | null = null;
    let closed = false;
    const closeConn = () => {
      if (closed || !conn) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // closed
      }
    };
    const done = (async (): Promise<AgentOutcome> => {
      const u = new URL(url);
      conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
      const c = conn;
      const mask = () => crypto.getRandomValues(new Uint8Array(4));
      const send = async (opcode: number, payload: Uint8Array) => {
        const frame = encodeFrame({ opcode, payload, mask: mask() });
        let off = 0;
        while (off < frame.length) off += await c.write(frame.subarray(off));
      };
      let error: string | null = null;
      let closeSent = false;
      const fail = async (code: number, why: string) => {
        error ??= why;
        if (!closeSent) {
          closeSent = true;
          await send(8, new Uint8Array([code >> 8, code & 0xff])).catch(
            () => {},
          );
        }
      };
      try {
        await c.write(encoder.encode(
          `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
            `Sec-WebSocket-Version: ${options.badHandshake ? 8 : 13}\r\n` +
            (options.extensions !== undefined
              ? `Sec-WebSocket-Extensions: ${options.extensions}\r\n`
              : "") +
            "\r\n",
        ));
        const parser = new FrameParser();
        let head: Uint8Array = new Uint8Array(0);
        let inMessage = false, binary = false;
        let parts: Uint8Array[] = [];
        let check: Utf8Check | null = null;
        const buf = new Uint8Array(65536);
        let handshaken = false;
        for (;;) {
          const n = await c.read(buf).catch(() => null);
          if (n === null) break;
          let chunk = buf.slice(0, n);
          if (!handshaken) {
            head = concat([head, chunk]);
            const end = new TextDecoder().decode(head).indexOf("\r\n\r\n");
            if (end < 0) continue;
            handshaken = true;
            options.onResponse?.(new TextDecoder().decode(head.slice(0, end)));
            chunk = head.slice(end + 4);
          }
          parser.push(chunk);
          for (let ev = parser.next(); ev !== null; ev = parser.next()) {
            if ("frame" in ev) options.onFrame?.(ev.frame);
            if (closeSent && !("frame" in ev && ev.frame.opcode === 8)) {
              continue;
            }
            if ("header" in ev) {
              const h = ev.header;
              if (checkRsv && h.rsv !== 0) await fail(1002, "RSV");
              else if ([3, 4, 5, 6, 7, 11, 12, 13, 14, 15].includes(h.opcode)) {
                await fail(1002, "opcode");
              } else if (h.opcode > 7 && (!h.fin || h.length > 125)) {
                await fail(1002, "control frame");
              } else if (h.opcode === 0 && !inMessage) {
                await fail(1002, "continuation");
              } else if ((h.opcode === 1 || h.opcode === 2) && inMessage) {
                await fail(1002, "expected continuation");
              } else if (h.opcode === 1 || h.opcode === 2) {
                inMessage = true;
                binary = h.opcode === 2;
                parts = [];
                check = binary ? null : new Utf8Check();
              }
              continue;
            }
            const f = ev.frame;
            if (f.opcode === 8) {
              if (closeSent) {
                closeConn();
                break;
              }
              if (closeReply === "drop") {
                closeConn();
                break;
              }
              closeSent = true;
              const reply = closeReply === "1001"
                ? new Uint8Array([0x03, 0xe9])
                : f.payload.subarray(0, Math.min(2, f.payload.length));
              await send(8, reply).catch(() => {});
            } else if (f.opcode === 9) {
              if (pong) await send(10, f.payload).catch(() => {});
            } else if (f.opcode === 0 || f.opcode === 1 || f.opcode === 2) {
              parts.push(f.payload);
              if (check && utf8Mode === "fast" && !check.feed(f.payload)) {
                await fail(1007, "UTF-8");
                continue;
              }
              if (!f.fin) continue;
              inMessage = false;
              const payload = concat(parts);
              if (check && utf8Mode === "fast" && !check.complete) {
                await fail(1007, "UTF-8");
                continue;
              }
              if (!binary && utf8Mode === "message") {
                const whole = new Utf8Check();
                if (!(whole.feed(payload) && whole.complete)) {
                  await fail(1007, "UTF-8");
                  continue;
                }
              }
              await send(binary ? 2 : 1, payload).catch(() => {});
            }
          }
          if (closed) break;
        }
      } finally {
        closeConn();
      }
      return { error };
    })();
    return { done, kill: closeConn };
  };
}
