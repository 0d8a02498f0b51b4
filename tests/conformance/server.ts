/**
 * The fuzzing server: listens on 127.0.0.1, performs the server side of the
 * WebSocket opening handshake by hand, and runs the case named in the
 * request (`/runCase?case=N&agent=NAME`, N being the 1-based index in the
 * case list, or `casetuple=6.4.1`), as Autobahn's fuzzing server does.
 *
 * @module
 */

import type { CaseDef } from "./case.ts";
import {
  type DeflateParams,
  negotiated,
  parseOffers,
} from "./deflate_params.ts";
import { Session, type SessionOptions } from "./session.ts";
import { concat } from "./wire.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2). */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + GUID),
  );
  let bin = "";
  for (const b of new Uint8Array(digest)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** A parsed HTTP upgrade request. */
export interface UpgradeRequest {
  method: string;
  path: string;
  params: URLSearchParams;
  headers: Map<string, string>;
}

function parseRequest(head: string): UpgradeRequest | string {
  const lines = head.split("\r\n");
  const m = /^(\S+) (\S+) HTTP\/1\.1$/.exec(lines[0]);
  if (!m) return `Bad request line: ${JSON.stringify(lines[0])}`;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const i = line.indexOf(":");
    if (i <= 0) return `Bad header line: ${JSON.stringify(line)}`;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers.set(
      name,
      headers.has(name) ? `${headers.get(name)}, ${value}` : value,
    );
  }
  const url = new URL(m[2], "http://localhost");
  return {
    method: m[1],
    path: url.pathname,
    params: url.searchParams,
    headers,
  };
}

function validateUpgrade(req: UpgradeRequest): string | null {
  const h = req.headers;
  if (req.method !== "GET") return `Expected method GET, got ${req.method}`;
  if (!h.has("host")) return "Expected a Host header";
  if (
    !(h.get("upgrade") ?? "").split(",").some((t) =>
      t.trim().toLowerCase() === "websocket"
    )
  ) {
    return "Expected Upgrade: websocket";
  }
  if (
    !(h.get("connection") ?? "").split(",").some((t) =>
      t.trim().toLowerCase() === "upgrade"
    )
  ) {
    return "Expected Connection: Upgrade";
  }
  if (h.get("sec-websocket-version") !== "13") {
    return "Expected Sec-WebSocket-Version: 13";
  }
  const key = h.get("sec-websocket-key") ?? "";
  let raw = "";
  try {
    raw = atob(key);
  } catch {
    return "Expected a base64 Sec-WebSocket-Key";
  }
  if (raw.length !== 16) return "Expected a 16-octet Sec-WebSocket-Key";
  return null;
}

/** Reads an HTTP head (up to CRLFCRLF); returns it and the bytes after it. */
async function readHead(
  conn: Deno.Conn,
  limit = 16384,
): Promise<{ head: string; rest: Uint8Array } | null> {
  let buf: Uint8Array = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  while (buf.length < limit) {
    const n = await conn.read(chunk);
    if (n === null) return null;
    buf = concat([buf, chunk.subarray(0, n)]);
    for (let i = Math.max(0, buf.length - n - 3); i + 3 < buf.length; i++) {
      if (
        buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 &&
        buf[i + 3] === 10
      ) {
        return {
          head: decoder.decode(buf.subarray(0, i)),
          rest: buf.slice(i + 4),
        };
      }
    }
  }
  return null;
}

/** The outcome of one case run, as recorded by the server. */
export interface ServerCaseRun {
  index: number;
  def: CaseDef;
  agent: string;
  session: Session;
}

/** Options of {@link FuzzingServer}. */
export interface FuzzingServerOptions extends SessionOptions {
  /** The cases, in Autobahn's order; `case=N` picks `cases[N - 1]`. */
  cases: CaseDef[];
  /** Called when a case's connection is gone and graded. */
  onCaseDone?(run: ServerCaseRun): void;
}

/** The fuzzing server. Close it with {@link FuzzingServer.close}. */
export class FuzzingServer {
  readonly #listener: Deno.TcpListener;
  readonly #options: FuzzingServerOptions;
  readonly #byId: Map<string, number>;
  readonly #sessions = new Set<Session>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #waiters = new Map<number, (run: ServerCaseRun) => void>();
  readonly #acceptLoop: Promise<void>;
  #closed = false;

  constructor(options: FuzzingServerOptions) {
    this.#options = options;
    this.#byId = new Map(options.cases.map((c, i) => [c.id, i + 1]));
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#acceptLoop = this.#accept();
  }

  /** The port the server listens on. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** The URL a client connects to in order to run case `index` (1-based). */
  caseUrl(index: number, agent: string): string {
    return `ws://127.0.0.1:${this.port}/runCase?case=${index}&agent=${
      encodeURIComponent(agent)
    }`;
  }

  /** Resolves when the next run of case `index` is graded. Register before connecting. */
  expect(index: number): Promise<ServerCaseRun> {
    return new Promise((resolve) => this.#waiters.set(index, resolve));
  }

  /** Stops waiting for case `index` (its client never got a graded connection). */
  forget(index: number): void {
    this.#waiters.delete(index);
  }

  /** Drops every live case connection (the runner's hard timeout). */
  abortAll(reason: string): void {
    for (const s of this.#sessions) s.abort(reason);
  }

  /** Stops listening, drops live connections and waits for every task. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#listener.close();
    }
    this.abortAll("server shutting down");
    await this.#acceptLoop;
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
  }

  async #accept(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        break;
      }
      const task = this.#handle(conn).catch(() => {}).finally(() =>
        this.#tasks.delete(task)
      );
      this.#tasks.add(task);
    }
  }

  async #handle(conn: Deno.TcpConn): Promise<void> {
    try {
      conn.setNoDelay(true);
    } catch {
      // not fatal
    }
    let got: { head: string; rest: Uint8Array } | null = null;
    const timer = setTimeout(() => {
      try {
        conn.close();
      } catch {
        // closed
      }
    }, 5000);
    try {
      got = await readHead(conn);
    } catch {
      got = null;
    } finally {
      clearTimeout(timer);
    }
    if (got === null) {
      try {
        conn.close();
      } catch {
        // closed
      }
      return;
    }
    const req = parseRequest(got.head);
    let error = typeof req === "string" ? req : validateUpgrade(req);
    let index = 0;
    let agent = "";
    if (error === null && typeof req !== "string") {
      if (req.path !== "/runCase") error = `Unknown path ${req.path}`;
      agent = req.params.get("agent") ?? "";
      if (!agent) error ??= "Need agent to run case";
      const tuple = req.params.get("casetuple");
      const n = req.params.get("case");
      index = tuple !== null ? this.#byId.get(tuple.trim()) ?? 0 : Number(n);
      if (
        !Number.isInteger(index) || index < 1 ||
        index > this.#options.cases.length
      ) {
        error ??= `Case ${tuple ?? n} not found`;
      }
    }
    // Every case parses the client's permessage-deflate offers, and a bad
    // one refuses the handshake (Autobahn's succeedHandshake); only the
    // compression cases accept one.
    let pmce: DeflateParams | null = null;
    if (error === null && typeof req !== "string") {
      try {
        const offers = parseOffers(req.headers.get("sec-websocket-extensions"));
        const accept = this.#options.cases[index - 1].deflate?.accept(offers);
        if (accept) pmce = negotiated(accept);
      } catch (err) {
        error = (err as Error).message;
      }
    }
    if (error !== null || typeof req === "string") {
      const body = encoder.encode(`${error}\n`);
      try {
        await conn.write(concat([
          encoder.encode(
            `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
          ),
          body,
        ]));
      } catch {
        // peer gone
      }
      try {
        conn.close();
      } catch {
        // closed
      }
      return;
    }
    const accept = await acceptKey(req.headers.get("sec-websocket-key")!);
    const def = this.#options.cases[index - 1];
    const session = new Session(conn, def, this.#options, pmce);
    this.#sessions.add(session);
    const offered = req.headers.get("sec-websocket-extensions");
    if (offered !== undefined) {
      session.log(
        `HANDSHAKE offered: ${offered}; accepted: ${pmce?.response ?? "none"}`,
      );
    }
    session.writeRaw(encoder.encode(
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "Server: nexus-ws-conformance\r\n" +
        "Upgrade: WebSocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n` +
        (pmce ? `Sec-WebSocket-Extensions: ${pmce.response}\r\n` : "") +
        "\r\n",
    ));
    session.open(got.rest);
    try {
      await session.done;
    } finally {
      this.#sessions.delete(session);
    }
    const run: ServerCaseRun = { index, def, agent, session };
    this.#options.onCaseDone?.(run);
    const waiter = this.#waiters.get(index);
    if (waiter) {
      this.#waiters.delete(index);
      waiter(run);
    }
  }
}
