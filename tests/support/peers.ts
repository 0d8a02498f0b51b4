/**
 * Independent WebSocket servers for interop tests, started on loopback by
 * the tests themselves:
 *
 * - {@link startDenoPeer}: `Deno.serve` + `Deno.upgradeWebSocket` (in
 *   process; `ws:` or, given a cert and key, `wss:`).
 * - {@link startWsPeer}: npm `ws`'s `WebSocketServer` (in process, through
 *   Deno's Node compatibility).
 * - {@link startPythonPeer}: Python's `websockets` server
 *   (`py_echo_server.py`, a subprocess; Debian package `python3-websockets`),
 *   with or without permessage-deflate.
 * - {@link startPythonFrameworkPeer}: aiohttp or tornado with
 *   permessage-deflate on (`py_deflate_server.py`; Debian packages
 *   `python3-aiohttp`, `python3-tornado`): `/echo`, `/close` and
 *   `/extensions` only.
 *
 * All three bind 127.0.0.1 on a free port and serve the same endpoints
 * (query parameters in brackets); after its first action every endpoint
 * echoes each message back with its type:
 *
 * | path | what the server does first |
 * | --- | --- |
 * | `/echo` (any other path too) | nothing |
 * | `/fragmented[?size=N]` | echoes each message fragmented into N-byte frames (Python: N characters for text; its last frame is an empty one), with a ping whose payload starts with `mid-message` between the first two fragments (not Deno: it cannot fragment) |
 * | `/ping[?payload=P][&wait=MS]` | pings with payload P, waits for the matching pong, then sends text `pong:P`; no pong within MS ms (default 2000): closes with 4001 "no pong". Deno can only ping empty payloads on an idle timer: it pings, and sends `pong:P` once the connection survived 1.2 s of them; without pongs it closes with 1001 |
 * | `/close?code=C[&reason=R][&send=S]` | sends text S (if given), then closes with C and R |
 * | `/headers` | sends `{"path": request-target, "headers": {lower-case name: value}}` |
 * | `/protocol` | sends the negotiated subprotocol (`""` for none) |
 * | `/extensions` | sends the `Sec-WebSocket-Extensions` it answered (not Deno) |
 * | `/forbidden` | refuses the upgrade: status 403 with header `X-Refused: yes` |
 *
 * Subprotocols: each server supports {@link SUBPROTOCOLS} and selects the
 * first one the client offers that it supports.
 *
 * Every helper resolves once the server listens and returns a {@link Peer}
 * whose `close()` (or `await using`) stops the server, ends any connection
 * still open and leaves nothing running, so Deno's sanitizers stay on.
 *
 * @module
 */

import { WebSocketServer } from "ws";

/** The subprotocols every peer supports. */
export const SUBPROTOCOLS = ["nexus.v2", "nexus.v1"] as const;

/** How one connection ended, as the server saw it. */
export interface ServerClose {
  /** Close code received from the client (1005: none in the frame, 1006: no close frame). */
  code: number;
  /** Close reason received. */
  reason: string;
}

/** A running test server. */
export interface Peer extends AsyncDisposable {
  /** Human-readable name for test names: "Deno", "npm ws", "Python websockets". */
  readonly name: string;
  /** Base URL without a path, e.g. `ws://127.0.0.1:40123`. */
  readonly url: string;
  /** Whether `/fragmented` is served (Deno's server cannot fragment). */
  readonly fragments: boolean;
  /** Whether `/ping` pings with the requested payload (Deno: empty payload). */
  readonly pingPayloads: boolean;
  /** Close code the server sends on `/ping` when no pong arrives. */
  readonly noPongCode: number;
  /** WebSocket upgrades the server has accepted so far. */
  readonly upgrades: number;
  /**
   * One entry per ended connection, in the order they ended: the close the
   * server received. Meaningful for connections the client closed first
   * (when the server closes first, some servers report their own code).
   */
  readonly closes: readonly ServerClose[];
  /** Stops the server and ends every connection. Idempotent. */
  close(): Promise<void>;
}

interface Route {
  path: string;
  query: URLSearchParams;
}

function route(target: string): Route {
  const u = new URL(target, "http://peer.invalid");
  return { path: u.pathname, query: u.searchParams };
}

function selectProtocol(offered: Iterable<string>): string | undefined {
  for (const p of offered) {
    if ((SUBPROTOCOLS as readonly string[]).includes(p)) return p;
  }
  return undefined;
}

function offeredProtocols(header: string | null | undefined): string[] {
  return (header ?? "").split(",").map((s) => s.trim()).filter((s) => s);
}

// ---------------------------------------------------------------------------
// Deno.serve + Deno.upgradeWebSocket

/** Options for {@link startDenoPeer}. */
export interface DenoPeerOptions {
  /** Serve `wss:` with this certificate chain and key (PEM). */
  tls?: { cert: string; key: string };
  /**
   * Host name to put in `url`: `127.0.0.1` (default, and what the server
   * binds) or `localhost` (then the server binds what `localhost` resolves
   * to first, as the client will: 127.0.0.1 or ::1).
   */
  urlHost?: "127.0.0.1" | "localhost";
}

/**
 * Starts a `Deno.serve` + `Deno.upgradeWebSocket` peer on loopback.
 * A request that is not an upgrade gets `426`.
 */
export function startDenoPeer(options: DenoPeerOptions = {}): Promise<Peer> {
  const sockets = new Set<WebSocket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const closes: ServerClose[] = [];
  let upgrades = 0;
  const ac = new AbortController();

  const handler = (req: Request): Response => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade\n", { status: 426 });
    }
    const target = new URL(req.url);
    const { path, query } = route(target.pathname + target.search);
    if (path === "/forbidden") {
      return new Response("Forbidden\n", {
        status: 403,
        headers: { "X-Refused": "yes" },
      });
    }
    const headers = Object.fromEntries(req.headers); // the request is gone once upgraded
    const protocol = selectProtocol(
      offeredProtocols(req.headers.get("sec-websocket-protocol")),
    );
    const { socket, response } = Deno.upgradeWebSocket(req, {
      protocol,
      // Deno pings every idleTimeout/2 s and closes (1001) when nothing came back within idleTimeout s.
      idleTimeout: path === "/ping" ? 0.4 : undefined,
    });
    upgrades++;
    sockets.add(socket);
    socket.binaryType = "arraybuffer";
    const later = (ms: number, fn: () => void) => {
      const id = setTimeout(() => {
        timers.delete(id);
        fn();
      }, ms);
      timers.add(id);
    };
    socket.onclose = (e) => {
      // Deno's server may fire close twice (e.g. after an idle timeout): keep the first.
      if (sockets.delete(socket)) {
        closes.push({ code: e.code, reason: e.reason });
      }
    };
    socket.onerror = () => {};
    socket.onmessage = (e) => socket.send(e.data);
    socket.onopen = () => {
      switch (path) {
        case "/ping": {
          const payload = query.get("payload") ?? "nexus-ping";
          later(1200, () => {
            if (socket.readyState === WebSocket.OPEN) {
              socket.send(`pong:${payload}`);
            }
          });
          break;
        }
        case "/close": {
          const send = query.get("send");
          if (send !== null) socket.send(send);
          socket.close(
            Number(query.get("code") ?? 1000),
            query.get("reason") ?? "",
          );
          break;
        }
        case "/headers":
          socket.send(JSON.stringify({
            path: target.pathname + target.search,
            headers,
          }));
          break;
        case "/protocol":
          socket.send(protocol ?? ""); // what the 101 response carried
          break;
      }
    };
    return response;
  };

  return new Promise<Peer>((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      const listen = {
        hostname: options.urlHost ?? "127.0.0.1",
        port: 0,
        signal: ac.signal,
        onListen: () => {},
      };
      server = options.tls
        ? Deno.serve(
          { ...listen, cert: options.tls.cert, key: options.tls.key },
          handler,
        )
        : Deno.serve(listen, handler);
    } catch (err) {
      reject(err);
      return;
    }
    const scheme = options.tls ? "wss" : "ws";
    let closing: Promise<void> | undefined;
    const close = () =>
      closing ??= (async () => {
        for (const id of timers) clearTimeout(id);
        timers.clear();
        for (const s of sockets) {
          try {
            s.close(1001, "server stopping");
          } catch { /* already closing */ }
        }
        ac.abort();
        await server.finished;
      })();
    resolve({
      name: options.tls ? "Deno (TLS)" : "Deno",
      url: `${scheme}://${options.urlHost ?? "127.0.0.1"}:${server.addr.port}`,
      fragments: false,
      pingPayloads: false,
      noPongCode: 1001,
      get upgrades() {
        return upgrades;
      },
      closes,
      close,
      [Symbol.asyncDispose]: close,
    });
  });
}

// ---------------------------------------------------------------------------
// npm ws

// The parts of ws's API used here (ws ships no types).
interface WsSocket {
  readonly protocol: string;
  readonly readyState: number;
  send(
    data: string | Uint8Array,
    opts?: { binary?: boolean; fin?: boolean },
  ): void;
  ping(data?: Uint8Array): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(ev: "message", fn: (data: Uint8Array, isBinary: boolean) => void): void;
  on(ev: "pong", fn: (data: Uint8Array) => void): void;
  on(ev: "close", fn: (code: number, reason: Uint8Array) => void): void;
  on(ev: "close" | "error", fn: (...args: unknown[]) => void): void;
}
interface IncomingRequest {
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Options for {@link startWsPeer}. */
export interface WsPeerOptions {
  /**
   * ws's `perMessageDeflate` server option (`false` by default): `true` or
   * an object such as `{ threshold: 0, serverNoContextTakeover: true }`.
   */
  perMessageDeflate?: boolean | Record<string, unknown>;
  /** Name to report (default "npm ws"). */
  name?: string;
}

/** Starts an npm `ws` `WebSocketServer` peer on 127.0.0.1 (in process). */
export async function startWsPeer(options: WsPeerOptions = {}): Promise<Peer> {
  const sockets = new Set<WsSocket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const closes: ServerClose[] = [];
  let upgrades = 0;
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    maxPayload: 64 * 1024 * 1024,
    perMessageDeflate: options.perMessageDeflate ?? false,
    handleProtocols: (offered: Set<string>) => selectProtocol(offered) ?? false,
    verifyClient: (
      info: { req: IncomingRequest },
      cb: (ok: boolean, code?: number, msg?: string, headers?: object) => void,
    ) =>
      route(info.req.url ?? "/").path === "/forbidden"
        ? cb(false, 403, "Forbidden", { "X-Refused": "yes" })
        : cb(true),
  });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", () => resolve());
    wss.once("error", (err: unknown) => reject(err));
  });
  // the Sec-WebSocket-Extensions each connection was answered with
  const answered = new WeakMap<WsSocket, string>();
  let lastAnswer = "";
  wss.on("headers", (headers: string[]) => {
    const line = headers.find((h) => /^sec-websocket-extensions:/i.test(h));
    lastAnswer = line?.slice(line.indexOf(":") + 1).trim() ?? "";
  });
  wss.on("connection", (socket: WsSocket, req: IncomingRequest) => {
    upgrades++;
    answered.set(socket, lastAnswer);
    sockets.add(socket);
    const mine = new Set<ReturnType<typeof setTimeout>>();
    const later = (ms: number, fn: () => void) => {
      const id = setTimeout(() => {
        timers.delete(id);
        mine.delete(id);
        fn();
      }, ms);
      timers.add(id);
      mine.add(id);
    };
    socket.on("close", (code: number, reason: Uint8Array) => {
      closes.push({ code, reason: new TextDecoder().decode(reason) });
      sockets.delete(socket);
      for (const id of mine) {
        clearTimeout(id);
        timers.delete(id);
      }
    });
    socket.on("error", () => {});
    const target = req.url ?? "/";
    const { path, query } = route(target);
    if (path === "/fragmented") {
      const size = Math.max(1, Number(query.get("size") ?? 7));
      socket.on("message", (data, isBinary) => {
        if (data.length <= size) {
          socket.send(data, { binary: isBinary, fin: true });
          return;
        }
        for (let off = 0; off < data.length; off += size) {
          const end = Math.min(off + size, data.length);
          socket.send(data.subarray(off, end), {
            binary: isBinary,
            fin: end === data.length,
          });
          if (off === 0) socket.ping(new TextEncoder().encode("mid-message"));
        }
      });
      return;
    }
    socket.on(
      "message",
      (data, isBinary) => socket.send(data, { binary: isBinary }),
    );
    switch (path) {
      case "/ping": {
        const payload = query.get("payload") ?? "nexus-ping";
        socket.on("pong", (data) => {
          if (new TextDecoder().decode(data) !== payload) return;
          for (const id of mine) {
            clearTimeout(id);
            timers.delete(id);
          }
          mine.clear();
          socket.send(`pong:${payload}`);
        });
        socket.ping(new TextEncoder().encode(payload));
        later(
          Number(query.get("wait") ?? 2000),
          () => socket.close(4001, "no pong"),
        );
        break;
      }
      case "/close": {
        const send = query.get("send");
        if (send !== null) socket.send(send);
        socket.close(
          Number(query.get("code") ?? 1000),
          query.get("reason") ?? "",
        );
        break;
      }
      case "/headers": {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) {
          if (v !== undefined) {
            headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
          }
        }
        socket.send(JSON.stringify({ path: target, headers }));
        break;
      }
      case "/protocol":
        socket.send(socket.protocol);
        break;
      case "/extensions":
        socket.send(answered.get(socket) ?? "");
        break;
    }
  });
  const port = (wss.address() as { port: number }).port;
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      for (const id of timers) clearTimeout(id);
      timers.clear();
      for (const s of sockets) s.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    })();
  return {
    name: options.name ?? "npm ws",
    url: `ws://127.0.0.1:${port}`,
    fragments: true,
    pingPayloads: true,
    noPongCode: 4001,
    get upgrades() {
      return upgrades;
    },
    closes,
    close,
    [Symbol.asyncDispose]: close,
  };
}

// ---------------------------------------------------------------------------
// Python websockets (subprocess)

const PY_SCRIPT = decodeURIComponent(
  new URL("./py_echo_server.py", import.meta.url).pathname,
);
const PY_DEFLATE_SCRIPT = decodeURIComponent(
  new URL("./py_deflate_server.py", import.meta.url).pathname,
);
const PY_TICKER_SCRIPT = decodeURIComponent(
  new URL("./py_ticker_server.py", import.meta.url).pathname,
);

/**
 * Python interpreters tried, in order: `$NEXUS_PYTHON`, Debian's
 * `/usr/bin/python3` (where `apt-get install python3-websockets` puts the
 * package, also when `python3` on PATH is a pyenv or venv one), `python3`.
 */
function pythonCandidates(): string[] {
  const env = Deno.env.get("NEXUS_PYTHON");
  return [...(env ? [env] : []), "/usr/bin/python3", "python3"];
}

const pythons = new Map<string, Promise<string>>();

/**
 * The first candidate interpreter that can import `module` (probed once per
 * module; default `websockets`).
 */
export function findPython(module = "websockets"): Promise<string> {
  let found = pythons.get(module);
  if (found !== undefined) return found;
  found = (async () => {
    const tried: string[] = [];
    for (const exe of pythonCandidates()) {
      try {
        const out = await new Deno.Command(exe, {
          args: ["-c", `import ${module}`],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).output();
        if (out.success) return exe;
        tried.push(`${exe} (no ${module} module)`);
      } catch (err) {
        tried.push(`${exe} (${(err as Error).name})`);
      }
    }
    pythons.delete(module);
    throw new Error(
      `Expected a Python with the ${module} package (Debian: apt-get install python3-${module}), got none among: ${
        tried.join(", ")
      }`,
    );
  })();
  pythons.set(module, found);
  return found;
}

/** What a Python peer script is and serves. */
interface PythonPeerSpec {
  name: string;
  module: string;
  script: string;
  args: string[];
  fragments: boolean;
}

/**
 * Runs a Python peer script as a subprocess on 127.0.0.1 and reads its JSON
 * lines (the port, then opens and closes). It exits when its stdin closes,
 * which `close()` does (and the OS does if the test process dies).
 */
async function startPythonScript(spec: PythonPeerSpec): Promise<Peer> {
  const exe = await findPython(spec.module);
  const child = new Deno.Command(exe, {
    args: ["-u", spec.script, ...spec.args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const closes: ServerClose[] = [];
  let upgrades = 0;
  let onPort!: (port: number) => void;
  let onEnd!: (err: Error) => void;
  const listening = new Promise<number>((resolve, reject) => {
    onPort = resolve;
    onEnd = reject;
  });
  // Reads the script's JSON lines until it exits: first the port, then closes.
  const pump = (async () => {
    let pending = "";
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      pending += chunk;
      for (
        let nl = pending.indexOf("\n");
        nl >= 0;
        nl = pending.indexOf("\n")
      ) {
        const line = JSON.parse(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (typeof line.port === "number") onPort(line.port);
        else if (typeof line.open === "string") upgrades++;
        else closes.push({ code: line.close, reason: line.reason });
      }
    }
    onEnd(
      new Error(
        `Expected ${spec.script} to print its port, got end of output (see its stderr above)`,
      ),
    );
  })().catch((err) => onEnd(err));
  const stop = async () => {
    await stdin.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 3000);
    try {
      await child.status;
      await pump;
    } finally {
      clearTimeout(timer);
    }
  };
  let port: number;
  const deadline = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, 10000);
  try {
    port = await listening;
  } catch (err) {
    await stop();
    throw err;
  } finally {
    clearTimeout(deadline);
  }
  let closing: Promise<void> | undefined;
  const close = () => closing ??= stop();
  return {
    name: spec.name,
    url: `ws://127.0.0.1:${port}`,
    fragments: spec.fragments,
    pingPayloads: true,
    noPongCode: 4001,
    get upgrades() {
      return upgrades;
    },
    closes,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Starts Python's `websockets` server (`py_echo_server.py`) as a subprocess
 * on 127.0.0.1; `compression: true` turns permessage-deflate on with
 * websockets' defaults (its server compresses every message).
 */
export function startPythonPeer(
  options: { compression?: boolean } = {},
): Promise<Peer> {
  return startPythonScript({
    name: options.compression
      ? "Python websockets (deflate)"
      : "Python websockets",
    module: "websockets",
    script: PY_SCRIPT,
    args: options.compression ? ["--compression"] : [],
    fragments: true,
  });
}

/**
 * Starts an aiohttp or tornado WebSocket server with permessage-deflate on
 * (`py_deflate_server.py`; Debian packages python3-aiohttp,
 * python3-tornado). They serve `/echo`, `/close` and `/extensions` only.
 */
export function startPythonFrameworkPeer(
  framework: "aiohttp" | "tornado",
): Promise<Peer> {
  return startPythonScript({
    name: `${framework} (deflate)`,
    module: framework,
    script: PY_DEFLATE_SCRIPT,
    args: [framework],
    fragments: false,
  });
}

/**
 * Starts Python's `websockets` server as a ticker (`py_ticker_server.py`):
 * `{"seq": N}` to every connection every 100 ms, a ping every second, and
 * a client that has not answered a ping within 3 s dropped with 1011.
 */
export function startPythonTicker(): Promise<Peer> {
  return startPythonScript({
    name: "Python websockets ticker",
    module: "websockets",
    script: PY_TICKER_SCRIPT,
    args: [],
    fragments: false,
  });
}

/** The three peers, for parametrised tests. */
export const PEERS: ReadonlyArray<{
  /** Same as the started peer's `name`. */
  name: string;
  /** Same as the started peer's `fragments`: whether `/fragmented` is served. */
  fragments: boolean;
  start: () => Promise<Peer>;
}> = [
  { name: "Deno", fragments: false, start: () => startDenoPeer() },
  { name: "npm ws", fragments: true, start: startWsPeer },
  {
    name: "Python websockets",
    fragments: true,
    start: () => startPythonPeer(),
  },
];
