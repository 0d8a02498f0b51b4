/**
 * A 40-byte echo, round trips one after the other on one connection,
 * nexus against the native `WebSocket`, over `wss://` and `ws://` (the
 * feed server's `/echo` in its own process). One iteration is
 * {@link ROUND_TRIPS} round trips. The client CPU per round trip is in
 * `echo_cpu.ts`.
 *
 * ```sh
 * deno bench --allow-net --allow-read --allow-run --cert bench/tls/ca.pem bench/echo_bench.ts
 * ```
 *
 * The native `wss://` row needs the bench CA at start (`--cert`); without
 * it that row is left out, with a note.
 *
 * @module
 */

import { startFeedServer, TLS_CA_FILE } from "./feed_server.ts";
import { type EchoClient, nativeEcho, nexusEcho } from "./echo_clients.ts";

/** Round trips per iteration. */
const ROUND_TRIPS = 1000;

const tls = await startFeedServer({ tls: true });
tls.unref();
const plain = await startFeedServer();
plain.unref();
const ca = [await Deno.readTextFile(TLS_CA_FILE)];

async function row(
  group: string,
  open: () => Promise<EchoClient>,
  baseline: boolean,
): Promise<void> {
  let client: EchoClient;
  try {
    client = await open();
  } catch {
    console.error(
      "Note: the native wss:// row needs the bench CA at start: deno bench --cert bench/tls/ca.pem ...",
    );
    return;
  }
  Deno.bench({
    name: `${client.name} (${group.slice(0, group.indexOf(":"))})`,
    group,
    baseline,
    n: 10,
    warmup: 2,
    async fn() {
      for (let i = 0; i < ROUND_TRIPS; i++) await client.roundTrip();
    },
  });
}

for (
  const [scheme, feed, caCerts] of [["wss", tls, ca], ["ws", plain]] as const
) {
  const url = feed.url({ path: "/echo" });
  const group = `${scheme}: 40-byte echo, ${ROUND_TRIPS} round trips`;
  await row(group, () => nativeEcho(url), true);
  await row(group, () => nexusEcho(url, caCerts), false);
}
