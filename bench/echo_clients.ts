/**
 * The 40-byte echo round trip of `echo_bench.ts` and `echo_cpu.ts`, written
 * once: a client sends a 40-byte text message to the feed server's `/echo`
 * and waits for it to come back, again and again, on one connection.
 *
 * @module
 */

import { connect, type WsClient } from "../mod.ts";

/** The message: 40 bytes of JSON-ish ASCII. */
export const ECHO_MESSAGE = '{"op":"ping","id":1234567,"t":173250001}';
if (ECHO_MESSAGE.length !== 40) throw new Error("Expected a 40-byte message");

/** An open echo client: `roundTrip()` sends the message and waits for it back. */
export interface EchoClient {
  /** What it is, e.g. `"nexus"`. */
  name: string;
  /** One round trip. */
  roundTrip(): Promise<void>;
  /** Closes it. */
  close(): void;
}

function expectEcho(got: number): void {
  if (got !== ECHO_MESSAGE.length) {
    throw new Error(`Expected the 40-byte echo, got ${got} bytes`);
  }
}

/** nexus: `sendText()`, then `tryRecv() ?? await recv()` and `m.byteLength`. */
export async function nexusEcho(
  url: string,
  caCerts?: string[],
): Promise<EchoClient> {
  const ws: WsClient = await connect(url, { caCerts });
  return {
    name: "nexus: sendText(), tryRecv() ?? await recv()",
    async roundTrip() {
      ws.sendText(ECHO_MESSAGE);
      const m = ws.tryRecv() ?? await ws.recv();
      expectEcho(m?.byteLength ?? -1);
    },
    close: () => ws.terminate(),
  };
}

/** The native `WebSocket`: `send()`, then the next `onmessage` (`e.data`). */
export function nativeEcho(url: string): Promise<EchoClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let waiting: ((n: number) => void) | null = null;
    ws.onmessage = (e) => {
      const w = waiting;
      waiting = null;
      w?.((e.data as string).length);
    };
    ws.onerror = (e) =>
      reject(new Error(`Native WebSocket error: ${(e as ErrorEvent).message}`));
    ws.onopen = () =>
      resolve({
        name: "native WebSocket: send(), onmessage",
        roundTrip() {
          return new Promise<void>((done) => {
            waiting = (n) => {
              expectEcho(n);
              done();
            };
            ws.send(ECHO_MESSAGE);
          });
        },
        close: () => ws.close(),
      });
  });
}
