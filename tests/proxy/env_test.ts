/**
 * The proxy from the environment (`HTTPS_PROXY`, `HTTP_PROXY`,
 * `ALL_PROXY`, `NO_PROXY`, either case), against a real tinyproxy behind
 * taps that count the tunnels; `proxy: false` and an explicit proxy win
 * over it; without the env permission the variables count as unset.
 */

import { equal, rejects } from "node:assert/strict";
import { connect, HttpConnection } from "../../mod.ts";
import { PROXY_ENV_NAMES } from "../../src/codec/proxy/env.ts";
import { startTinyproxy } from "../support/proxies.ts";
import { startTap, type Tap } from "../support/tap.ts";
import { echoes, startOrigins } from "./_origins.ts";

/** Runs `fn` with exactly `vars` of the proxy variables set, then restores them. */
async function withEnv(
  vars: Record<string, string>,
  fn: () => Promise<void>,
): Promise<void> {
  const saved = new Map(PROXY_ENV_NAMES.map((n) => [n, Deno.env.get(n)]));
  for (const name of PROXY_ENV_NAMES) Deno.env.delete(name);
  for (const [name, value] of Object.entries(vars)) Deno.env.set(name, value);
  try {
    await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
}

/** How many tunnels `fn` opened through each tap. */
async function tunnels(
  taps: Tap[],
  fn: () => Promise<void>,
): Promise<number[]> {
  const before = taps.map((t) => t.connections);
  await fn();
  return taps.map((t, i) => t.connections - before[i]);
}

/** Runs the probe with `flags` and the environment `env`; returns its output line. */
async function probe(
  flags: string[],
  env: Record<string, string>,
  url: string,
) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...flags,
      new URL("./_env_probe.ts", import.meta.url).pathname,
      url,
    ],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("The environment's proxy variables, NO_PROXY, proxy: false and the explicit option", async (t) => {
  await using origins = await startOrigins();
  await using proxy = await startTinyproxy();
  await using a = startTap(proxy.port);
  await using b = startTap(proxy.port);
  await using c = startTap(proxy.port);
  const taps = [a, b, c];
  const { caCerts } = origins;
  const ws = () => echoes(origins.ws.url, {});
  const wss = () => echoes(origins.wss.url, { caCerts });
  const get = async (origin: string) => {
    using conn = new HttpConnection(origin, { caCerts });
    equal((await conn.get("/hello")).text(), "hello world");
  };

  await t.step(
    "HTTPS_PROXY carries wss: and https:, HTTP_PROXY ws: and http:",
    async () => {
      await withEnv(
        { HTTPS_PROXY: a.url("http"), HTTP_PROXY: b.url("http") },
        async () => {
          equal((await tunnels(taps, wss)).join(), "1,0,0");
          equal(
            (await tunnels(taps, () => get(origins.https))).join(),
            "1,0,0",
          );
          equal((await tunnels(taps, ws)).join(), "0,1,0");
          equal((await tunnels(taps, () => get(origins.http))).join(), "0,1,0");
        },
      );
    },
  );

  await t.step(
    "lower-case names count when the upper-case ones are unset, and lose to them",
    async () => {
      await withEnv(
        { https_proxy: a.url("http"), http_proxy: b.url("http") },
        async () => {
          equal((await tunnels(taps, wss)).join(), "1,0,0");
          equal((await tunnels(taps, ws)).join(), "0,1,0");
        },
      );
      await withEnv(
        { HTTP_PROXY: c.url("http"), http_proxy: b.url("http") },
        async () => {
          equal((await tunnels(taps, ws)).join(), "0,0,1");
        },
      );
    },
  );

  await t.step(
    "ALL_PROXY wins over the scheme's variable, as in Deno's fetch",
    async () => {
      await withEnv(
        { ALL_PROXY: c.url("http"), HTTPS_PROXY: a.url("http") },
        async () => {
          equal((await tunnels(taps, wss)).join(), "0,0,1");
          equal((await tunnels(taps, ws)).join(), "0,0,1");
        },
      );
    },
  );

  await t.step(
    "NO_PROXY sends matching origins direct (host, range and port forms)",
    async () => {
      const port = new URL(origins.wss.url).port;
      for (
        const noProxy of [
          "127.0.0.1",
          "localhost,127.0.0.0/8",
          `127.0.0.1:${port}`,
        ]
      ) {
        await withEnv(
          { HTTPS_PROXY: a.url("http"), NO_PROXY: noProxy },
          async () => {
            equal((await tunnels(taps, wss)).join(), "0,0,0", noProxy);
          },
        );
      }
      await withEnv(
        { HTTPS_PROXY: a.url("http"), no_proxy: "127.0.0.1:1" },
        async () => {
          equal((await tunnels(taps, wss)).join(), "1,0,0", "another port");
        },
      );
    },
  );

  await t.step(
    "proxy: false ignores the environment; an explicit proxy wins over it and over NO_PROXY",
    async () => {
      await withEnv(
        { ALL_PROXY: a.url("http"), NO_PROXY: "127.0.0.1" },
        async () => {
          await withEnv({ ALL_PROXY: a.url("http") }, async () => {
            const direct = await tunnels(
              taps,
              () => echoes(origins.ws.url, { proxy: false }),
            );
            equal(direct.join(), "0,0,0");
            using conn = new HttpConnection(origins.http, { proxy: false });
            equal(
              (await tunnels(taps, async () => void await conn.get("/hello")))
                .join(),
              "0,0,0",
            );
          });
          const explicit = await tunnels(
            taps,
            () => echoes(origins.ws.url, { proxy: b.url("http") }),
          );
          equal(explicit.join(), "0,1,0");
        },
      );
    },
  );

  await t.step(
    "a variable that is not a proxy URL is a TypeError naming it, never quoting it",
    async () => {
      await withEnv(
        { HTTPS_PROXY: "ftp://bot:s3cret@proxy.example" },
        async () => {
          await rejects(
            connect(`${origins.wss.url}/echo`, { caCerts }),
            (e) =>
              e instanceof TypeError && e.message.includes("HTTPS_PROXY") &&
              !e.message.includes("s3cret"),
          );
          // not read for a ws: origin
          await ws();
        },
      );
    },
  );

  await t.step(
    "without the env permission the variables count as unset; with it for one name, that one counts",
    async () => {
      const env = { HTTP_PROXY: b.url("http") };
      const before = b.connections;
      equal(
        await probe(["--allow-net"], env, `${origins.ws.url}/echo`),
        "probe",
      );
      equal(b.connections, before, "direct");
      equal(
        await probe(
          ["--allow-net", "--allow-env=HTTP_PROXY"],
          env,
          `${origins.ws.url}/echo`,
        ),
        "probe",
      );
      equal(b.connections, before + 1, "through the proxy");
    },
  );
});
