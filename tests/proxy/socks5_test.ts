/**
 * The clients through real SOCKS5 proxies from Debian, started on loopback
 * by the tests: microsocks without and with username/password, and Dante's
 * danted. One proxy process per test, shared by its steps; a tap in front
 * of the proxy shows what the client asked it.
 */

import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  connect,
  HttpConnection,
  NetworkError,
  ProxyError,
} from "../../mod.ts";
import { startDanted, startMicrosocks } from "../support/proxies.ts";
import { startDenoPeer } from "../support/peers.ts";
import { startTap, type Tap } from "../support/tap.ts";
import {
  allOrigins,
  echoes,
  shown,
  showsNone,
  startOrigins,
} from "./_origins.ts";

const USER = "bot";
const PASSWORD = "s3cretPw";
const WRONG = "wrongPw";

/** The SOCKS5 CONNECT request a client sent through `tap` on connection `i`. */
function request(tap: Tap, i: number, auth = false): {
  atyp: number;
  address: string;
  port: number;
} {
  const b = tap.sent[i];
  // greeting: 5, n, n methods; then (with auth) 1, ulen, user, plen, pass
  let at = 2 + b[1];
  if (auth) at += 3 + b[at + 1] + b[at + 2 + b[at + 1]];
  equal(b[at], 5, "SOCKS version");
  equal(b[at + 1], 1, "CONNECT");
  const atyp = b[at + 3];
  let address: string, end: number;
  if (atyp === 3) {
    end = at + 5 + b[at + 4];
    address = new TextDecoder().decode(b.subarray(at + 5, end));
  } else {
    end = at + 4 + (atyp === 1 ? 4 : 16);
    address = Array.from(b.subarray(at + 4, end)).join(".");
  }
  return { atyp, address, port: (b[end] << 8) | b[end + 1] };
}

Deno.test("Through microsocks (SOCKS5, no credentials)", async (t) => {
  await using origins = await startOrigins();
  await using proxy = await startMicrosocks();
  await using tap = startTap(proxy.port);

  await t.step(
    "ws:, wss:, http: and https: origins answer through socks5: and socks5h:",
    async () => {
      await allOrigins(origins, tap.url("socks5"));
      await allOrigins(origins, tap.url("socks5h"));
    },
  );

  await t.step(
    "socks5h: sends the origin's name for the proxy to resolve, socks5: the address resolved here",
    async () => {
      await using local = await startDenoPeer({ urlHost: "localhost" });
      const port = Number(new URL(local.url).port);
      const first = tap.connections;
      await echoes(local.url, { proxy: tap.url("socks5h") });
      deepStrictEqual(request(tap, first), {
        atyp: 3,
        address: "localhost",
        port,
      });
      await echoes(local.url, { proxy: tap.url("socks5") });
      const sent = request(tap, first + 1);
      ok(
        sent.atyp === 1 || sent.atyp === 4,
        `an address, got type ${sent.atyp}`,
      );
      equal(sent.port, port);
    },
  );

  await t.step(
    "a name that does not resolve fails here for socks5: (the proxy is never asked) and at the proxy for socks5h:",
    async () => {
      const url = "ws://no-such-host.invalid:8080/";
      const before = tap.connections;
      const local = await connect(url, { proxy: tap.url("socks5") })
        .catch((e) => e);
      ok(local instanceof NetworkError, String(local));
      deepStrictEqual(
        [local.stage, local.peer, local.host, local.port],
        ["dns", "origin", "no-such-host.invalid", 8080],
      );
      equal(tap.connections, before, "the proxy was not contacted");
      const remote = await connect(url, { proxy: tap.url("socks5h") })
        .catch((e) => e);
      ok(remote instanceof ProxyError, String(remote));
      deepStrictEqual(
        [remote.failure, remote.protocol, remote.proxy],
        ["refused", "socks5", `127.0.0.1:${tap.port}`],
      );
      ok(typeof remote.reply === "number" && remote.reply > 0);
      equal(request(tap, before).address, "no-such-host.invalid");
    },
  );

  await t.step(
    "a wss: origin whose certificate is for another host is refused inside the tunnel",
    async () => {
      const err = await connect(`${origins.wrongCert.url}/echo`, {
        caCerts: origins.caCerts,
        proxy: tap.url("socks5h"),
      }).catch((e) => e);
      ok(err instanceof NetworkError, String(err));
      deepStrictEqual([err.stage, err.peer], ["tls", "origin"]);
    },
  );
});

Deno.test("Through microsocks with username/password (RFC 1929)", async (t) => {
  await using origins = await startOrigins();
  await using proxy = await startMicrosocks({
    credentials: { username: USER, password: PASSWORD },
  });

  await t.step(
    "ws:, wss:, http: and https: origins answer with the right credentials",
    async () => {
      await allOrigins(origins, `socks5h://${USER}:${PASSWORD}@${proxy.host}`);
    },
  );

  await t.step(
    "wrong or missing credentials are a ProxyError of failure auth that never shows them",
    async () => {
      for (
        const [url, why] of [
          [`socks5://${USER}:${WRONG}@${proxy.host}`, "it refused them"],
          [
            `socks5h://${proxy.host}`,
            "it requires credentials and none were given",
          ],
        ]
      ) {
        const ws = await connect(`${origins.ws.url}/echo`, { proxy: url })
          .catch((e) => e);
        using conn = new HttpConnection(origins.https, {
          proxy: url,
          caCerts: origins.caCerts,
        });
        const http = await conn.get("/hello").catch((e) => e);
        for (const err of [ws, http]) {
          ok(err instanceof ProxyError, String(err));
          deepStrictEqual(
            [err.failure, err.protocol, err.proxy, err.reply],
            ["auth", "socks5", proxy.host, undefined],
          );
          ok(err.message.endsWith(why), err.message);
          showsNone(shown(err), [WRONG, PASSWORD]);
        }
      }
    },
  );
});

Deno.test("Through danted (SOCKS5, no credentials)", async (t) => {
  await using origins = await startOrigins();
  await using proxy = await startDanted();

  await t.step(
    "ws:, wss:, http: and https: origins answer through socks5: and socks5h:",
    async () => {
      await allOrigins(origins, `socks5://${proxy.host}`);
      await allOrigins(origins, `socks5h://${proxy.host}`);
    },
  );

  await t.step(
    "socks5h: reaches localhost as the proxy resolves it",
    async () => {
      await using local = await startDenoPeer({ urlHost: "localhost" });
      await echoes(local.url, { proxy: `socks5h://${proxy.host}` });
    },
  );
});
