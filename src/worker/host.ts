/**
 * The Worker side of {@link connectInWorker}: the module the Worker runs.
 * It opens the connection with `connect()` in its own isolate, so pings,
 * pongs and the heartbeat are answered here whatever the main thread
 * does, copies every message into the receive ring, and sends what the main
 * side puts in the send ring. When the receive ring is full it stops
 * reading the socket until the main side makes room: memory stays bounded
 * and the server sees the backpressure.
 *
 * @module
 */

import { connect, DEFAULT_MAX_BUFFERED_AMOUNT } from "../ws/connect.ts";
import type { Message } from "../ws/message.ts";
import type { WsClient } from "../ws/client.ts";
import {
  decodeEvent,
  encodeEnd,
  type ErrorData,
  errorData,
  type RingEvent,
  type Setup,
  type SetupAnswer,
} from "./protocol.ts";
import {
  Kind,
  Ring,
  RING_CONSUMER_WAITING,
  RING_PRODUCER_WAITING,
  RING_READ,
  RING_WRITE,
} from "./ring.ts";
import { waitWord } from "./wait.ts";

/** What this module needs of the Worker's global scope. */
interface WorkerScope {
  onmessage: ((e: MessageEvent<Setup>) => void) | null;
  postMessage(message: SetupAnswer): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;
const decoder = new TextDecoder();

scope.onmessage = (e) => {
  scope.onmessage = null;
  run(e.data).finally(() => scope.close());
};

async function run(setup: Setup): Promise<void> {
  let ws: WsClient;
  try {
    ws = await connect(setup.url, setup.options);
  } catch (err) {
    scope.postMessage({ type: "failed", error: errorData(err) });
    return;
  }
  scope.postMessage({ type: "open", protocol: ws.protocol });
  const maxBuffered = (setup.options.maxBufferedAmount as number | undefined) ??
    DEFAULT_MAX_BUFFERED_AMOUNT;
  pumpSends(ws, new Ring(setup.tx), maxBuffered);
  await pumpMessages(ws, new Ring(setup.rx));
}

/** Waits until the ring has room for a record of `len` bytes; returns where its payload goes. */
async function room(rx: Ring, len: number): Promise<number> {
  let at: number;
  while ((at = rx.reserve(len)) < 0) {
    rx.publish();
    await waitWord(
      rx.words,
      RING_READ,
      RING_PRODUCER_WAITING,
      () => rx.reserve(len) >= 0,
    );
  }
  return at;
}

/** Copies the payload of `m` into the ring at `at` (a loop for short ones: no view made). */
function copyPayload(rx: Ring, at: number, m: Message, len: number): void {
  const src = m.bytes, off = m.offset, dst = rx.bytes;
  if (len <= 64) {
    for (let i = 0; i < len; i++) dst[at + i] = src[off + i];
  } else dst.set(src.subarray(off, off + len), at);
}

/**
 * Receives until the connection ends, each message copied into the ring
 * (published in batches: whenever the client has to read the socket),
 * then the end event: the close code, reason, and the error if any.
 */
async function pumpMessages(ws: WsClient, rx: Ring): Promise<void> {
  let error: ErrorData | null = null;
  try {
    for (;;) {
      let m = ws.tryRecv();
      if (m === undefined) {
        rx.publish();
        const next = await ws.recv();
        if (next === null) break;
        m = next;
      }
      const len = m.byteLength;
      let at = rx.reserve(len);
      if (at < 0) {
        at = await room(rx, len);
        // a close request met meanwhile discarded it (close() reads on)
        if (!m.valid) continue;
      }
      copyPayload(rx, at, m, len);
      rx.commit(m.type === "text" ? Kind.Text : Kind.Binary, len);
    }
  } catch (err) {
    error = errorData(err);
  }
  const end: RingEvent = {
    type: "end",
    code: ws.closeCode,
    reason: ws.closeReason,
    error,
  };
  const bytes = encodeEnd(end, rx.maxPayload);
  const at = await room(rx, bytes.length);
  rx.bytes.set(bytes, at);
  rx.commit(Kind.Event, bytes.length);
  rx.publish();
}

/**
 * Sends what the main side puts in the send ring, in order: text, binary,
 * pings, and the close request (after which it stops). A send over
 * `maxBufferedAmount` is awaited before the next record is taken, so the
 * ring fills and the main side's sends wait: bounded both ways.
 */
async function pumpSends(
  ws: WsClient,
  tx: Ring,
  maxBuffered: number,
): Promise<void> {
  for (;;) {
    while (tx.peek()) {
      let sent: Promise<void> | undefined;
      try {
        sent = sendRecord(ws, tx, maxBuffered);
      } catch { /* the connection is closing: its end event says why */ }
      if (sent === CLOSED) return;
      if (sent !== undefined && ws.bufferedAmount > maxBuffered) {
        await sent.catch(() => {});
      }
      tx.release();
    }
    if (ws.closed) return;
    await waitWord(
      tx.words,
      RING_WRITE,
      RING_CONSUMER_WAITING,
      () => tx.peek(),
    );
  }
}

const CLOSED = Promise.resolve();

/** Hands the peeked record to the client; {@link CLOSED} after a close request. */
function sendRecord(
  ws: WsClient,
  tx: Ring,
  maxBuffered: number,
): Promise<void> {
  const view = tx.bytes.subarray(tx.start, tx.end);
  if (tx.kind === Kind.Text) return ws.sendText(decoder.decode(view));
  if (tx.kind === Kind.Binary) {
    // a send that has to wait its turn reads its bytes later: copy them then
    return ws.sendBinary(ws.bufferedAmount > maxBuffered ? view.slice() : view);
  }
  const event = decodeEvent(tx.bytes, tx.start, tx.end);
  if (event.type === "ping") return ws.ping(Uint8Array.from(event.data));
  if (event.type === "close") {
    tx.release();
    ws.close(event.code, event.reason).catch(() => {});
    return CLOSED;
  }
  return Promise.resolve();
}
