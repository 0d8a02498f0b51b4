/**
 * The origins the proxy tests reach through the proxies, all on
 * 127.0.0.1 and started once per test: a WebSocket peer over `ws:` and
 * `wss:`, an HTTP server over `http:` and `https:` (certificates from the
 * test CA, valid for `127.0.0.1`), and a `wss:` peer whose certificate is
 * for another host. Plus the checks every proxy runs against them.
 *
 * @module
 */

import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  connect,
  type ConnectOptions,
  HttpConnection,
  type HttpConnectionOptions,
} from "../../mod.ts";
import { type Peer, startDenoPeer } from "../support/peers.ts";
import { type DenoServer, startDenoServer } from "../support/http_servers.ts";
import { testTls } from "../support/tls.ts";

/** The running origins. */
export interface Origins extends AsyncDisposable {
  /** `ws://127.0.0.1:port`. */
  ws: Peer;
  /** `wss://127.0.0.1:port`. */
  wss: Peer;
  /** `http://127.0.0.1:port`. */
  http: string;
  /** `https://127.0.0.1:port`. */
  https: string;
  /** `wss://127.0.0.1:port` with a certificate for `wrong-host.invalid`. */
  wrongCert: Peer;
  /** The test CA. */
  caCerts: string[];
  /** Requests the HTTP servers (http and https) have handled. */
  readonly requests: number;
  close(): Promise<void>;
}

/** Starts every origin. */
export async function startOrigins(): Promise<Origins> {
  const tls = await testTls();
  const servers: { close(): Promise<void> }[] = [];
  const keep = <T extends { close(): Promise<void> }>(s: T): T => {
    servers.push(s);
    return s;
  };
  const ws = keep(await startDenoPeer());
  const wss = keep(
    await startDenoPeer({ tls: { cert: tls.cert, key: tls.key } }),
  );
  const wrongCert = keep(await startDenoPeer({ tls: tls.wrongHost }));
  const http: DenoServer = keep(await startDenoServer());
  const https: DenoServer = keep(await startDenoServer({ tls: true }));
  const close = async () => {
    await Promise.all(servers.map((s) => s.close()));
  };
  return {
    ws,
    wss,
    wrongCert,
    http: http.origin,
    https: https.origin.replace("localhost", "127.0.0.1"),
    caCerts: [tls.caCert],
    get requests() {
      return http.requests + https.requests;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Connects to `url`'s `/echo` with `options`, and echoes two messages. */
export async function echoes(
  url: string,
  options: ConnectOptions,
): Promise<void> {
  const ws = await connect(`${url}/echo`, options);
  try {
    await ws.sendText("through the tunnel");
    equal((await ws.recv())?.text(), "through the tunnel");
    const big = "x".repeat(200_000);
    await ws.sendText(big);
    equal((await ws.recv())?.text(), big);
  } finally {
    await ws.close();
  }
}

/**
 * GETs `/hello` three times on one {@link HttpConnection} to `origin`:
 * every answer right, and one socket (one tunnel) for all of them.
 */
export async function gets(
  origin: string,
  options: HttpConnectionOptions,
): Promise<void> {
  using conn = new HttpConnection(origin, options);
  const texts = [];
  for (let i = 0; i < 3; i++) texts.push((await conn.get("/hello")).text());
  deepStrictEqual(texts, ["hello world", "hello world", "hello world"]);
  equal(conn.dials, 1, "one socket kept alive through the tunnel");
}

/** Runs `ws:`, `wss:`, `http:` and `https:` through `proxy`. */
export async function allOrigins(
  origins: Origins,
  proxy: string,
): Promise<void> {
  const { caCerts } = origins;
  const before = origins.requests;
  await echoes(origins.ws.url, { proxy });
  await echoes(origins.wss.url, { proxy, caCerts });
  await gets(origins.http, { proxy });
  await gets(origins.https, { proxy, caCerts });
  equal(origins.requests, before + 6);
}

/** Whether `text` shows any of `secrets`. */
export function showsNone(text: string, secrets: string[]): void {
  for (const s of secrets) ok(!text.includes(s), `shows a secret: ${text}`);
}

/** Everything an error shows: message, fields, and its causes' messages. */
export function shown(err: unknown): string {
  const parts: string[] = [];
  for (let e = err; e instanceof Error; e = e.cause) {
    parts.push(e.message, JSON.stringify(e), String(e));
  }
  return parts.join("\n");
}
