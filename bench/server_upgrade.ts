/**
 * The server side of a WebSocket connection, by hand, for the bench
 * servers: the upgrade (RFC 6455 §4.2, SHA-1 accept via `crypto.subtle`, no
 * extensions, no subprotocol), whole writes, and a small reader of the
 * client's masked frames. No dependencies; the servers run in their own
 * process (`server_process.ts`).
 *
 * @module
 */

export { serverFrame } from "../tests/support/raw_server.ts";

const encoder = new TextEncoder();
const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The `Sec-WebSocket-Accept` value for `key`. */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + WS_GUID),
  );
  let bin = "";
  for (const b of new Uint8Array(digest)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Writes all of `p`. */
export async function writeAll(
  conn: { write(p: Uint8Array): Promise<number> },
  p: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < p.length) off += await conn.write(p.subarray(off));
}

/** Reads the HTTP request head; `null` when the peer left or sent junk. */
async function readHead(conn: Deno.Conn): Promise<string | null> {
  const buf = new Uint8Array(16384);
  let len = 0;
  while (len < buf.length) {
    const n = await conn.read(buf.subarray(len));
    if (n === null) return null;
    len += n;
    const text = new TextDecoder().decode(buf.subarray(0, len));
    if (text.includes("\r\n\r\n")) return text;
  }
  return null;
}

/**
 * Reads a request head: its target and its fields (names lower-cased);
 * `null` when the peer left or sent junk.
 */
export async function readRequest(
  conn: Deno.Conn,
): Promise<{ target: string; fields: Map<string, string> } | null> {
  const head = await readHead(conn);
  if (head === null) return null;
  const [requestLine, ...lines] = head.slice(0, head.indexOf("\r\n\r\n"))
    .split("\r\n");
  const fields = new Map<string, string>();
  for (const line of lines) {
    const i = line.indexOf(":");
    if (i > 0) {
      fields.set(
        line.slice(0, i).trim().toLowerCase(),
        line.slice(i + 1).trim(),
      );
    }
  }
  return { target: requestLine.split(" ")[1] ?? "/", fields };
}

/**
 * Reads the upgrade request and answers it with `101`. Resolves with the
 * request target as a URL (path and query), or `null` when the client left
 * or sent no `Sec-WebSocket-Key` (answered with `400`).
 */
export async function upgrade(conn: Deno.Conn): Promise<URL | null> {
  const req = await readRequest(conn);
  if (req === null) return null;
  const key = req.fields.get("sec-websocket-key") ?? "";
  if (!key) {
    await writeAll(
      conn,
      encoder.encode(
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
      ),
    );
    return null;
  }
  await writeAll(
    conn,
    encoder.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
        `Connection: Upgrade\r\nSec-WebSocket-Accept: ${await acceptKey(
          key,
        )}\r\n\r\n`,
    ),
  );
  return new URL(req.target, "http://bench.local");
}

/** One client frame, unmasked: `payload` is a view valid until the next read. */
export interface ClientFrame {
  /** The opcode. */
  op: number;
  /** The unmasked payload (a view into the reader's buffer). */
  payload: Uint8Array;
}

/**
 * Reads the client's masked frames one at a time from `conn` (whole frames
 * only, unfragmented messages assumed: the benches send no fragments).
 */
export class ClientFrames {
  #conn: Deno.Conn;
  #buf = new Uint8Array(1 << 16);
  #start = 0;
  #end = 0;

  /** Frames of `conn`. */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next frame, or `null` at the end of the stream. */
  async next(): Promise<ClientFrame | null> {
    for (;;) {
      const f = this.#parse();
      if (f !== null) return f;
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      if (this.#end === this.#buf.length) {
        const bigger = new Uint8Array(this.#buf.length * 2);
        bigger.set(this.#buf);
        this.#buf = bigger;
      }
      const n = await this.#conn.read(this.#buf.subarray(this.#end));
      if (n === null) return null;
      this.#end += n;
    }
  }

  #parse(): ClientFrame | null {
    const b = this.#buf, s = this.#start, avail = this.#end - s;
    if (avail < 6) return null;
    let len = b[s + 1] & 0x7f, p = s + 2;
    if (len === 126) {
      if (avail < 8) return null;
      len = (b[p] << 8) | b[p + 1];
      p += 2;
    } else if (len === 127) {
      if (avail < 14) return null;
      len = Number(new DataView(b.buffer, p, 8).getBigUint64(0));
      p += 8;
    }
    if (this.#end < p + 4 + len) return null;
    const k = p;
    p += 4;
    for (let i = 0; i < len; i++) b[p + i] ^= b[k + (i & 3)];
    this.#start = p + len;
    return { op: b[s] & 0x0f, payload: b.subarray(p, p + len) };
  }
}
