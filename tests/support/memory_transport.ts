/**
 * An in-memory duplex for tests: the client gets a {@link Transport}, the
 * test drives the server side by hand (bytes in, end of stream, reset) and
 * reads what the client wrote. Closing the client side makes a pending
 * read reject, as Deno's sockets do.
 */
import {
  connect,
  type ConnectOptions,
  type Transport,
  type WsClient,
} from "../../mod.ts";
import { acceptKey } from "../../src/codec/ws/handshake.ts";
/** The server's end of a {@link memoryPipe}. */
export interface MemoryServer {
  /** Bytes the client will read next. */
  send(bytes: Uint8Array): void;
  /** The client's next read returns the end of the stream (after what was sent). */
  end(): void;
  /** The client's reads reject with a connection reset from now on. */
  reset(): void;
  /** Everything the client has written so far (and clears it). */
  take(): Uint8Array;
  /** Resolves once the client has written at least `n` bytes not yet taken. */
  written(n: number): Promise<void>;
  /** Whether the client closed its transport. */
  readonly closed: boolean;
  /** Writes in flight are held until `release()` when true. */
  hold: boolean;
  /** Lets held writes complete. */
  release(): void;
}

/** A client transport and its server end, connected in memory. */
export function memoryPipe(): { transport: Transport; server: MemoryServer } {
  const inbox: Uint8Array[] = [];
  let ended = false, broken = false, closed = false;
  let wake: (() => void) | null = null;
  let out: number[] = [];
  let outWaiters: { n: number; resolve: () => void }[] = [];
  let held: (() => void)[] = [];
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const server: MemoryServer = {
    hold: false,
    send(bytes) {
      if (bytes.length > 0) inbox.push(bytes.slice());
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    reset() {
      broken = true;
      notify();
    },
    take() {
      const b = Uint8Array.from(out);
      out = [];
      return b;
    },
    written(n) {
      if (out.length >= n) return Promise.resolve();
      return new Promise((resolve) => outWaiters.push({ n, resolve }));
    },
    get closed() {
      return closed;
    },
    release() {
      const h = held;
      held = [];
      for (const r of h) r();
    },
  };
  const transport: Transport = {
    async read(p) {
      for (;;) {
        if (closed) throw new Deno.errors.BadResource("Transport closed");
        if (inbox.length > 0) { // as much as is there, like a socket
          let n = 0;
          while (inbox.length > 0 && n < p.length) {
            const head = inbox[0];
            const k = Math.min(p.length - n, head.length);
            p.set(head.subarray(0, k), n);
            n += k;
            if (k === head.length) inbox.shift();
            else inbox[0] = head.subarray(k);
          }
          return n;
        }
        if (broken) throw new Deno.errors.ConnectionReset("Connection reset");
        if (ended) return null;
        await new Promise<void>((r) => wake = r);
      }
    },
    async write(p) {
      if (closed) throw new Deno.errors.BadResource("Transport closed");
      if (broken) throw new Deno.errors.BrokenPipe("Broken pipe");
      if (server.hold) await new Promise<void>((r) => held.push(r));
      if (closed) throw new Deno.errors.BadResource("Transport closed");
      for (let i = 0; i < p.length; i++) out.push(p[i]);
      outWaiters = outWaiters.filter((w) => {
        if (out.length < w.n) return true;
        w.resolve();
        return false;
      });
      return p.length;
    },
    close() {
      closed = true;
      notify();
      server.release();
    },
  };
  return { transport, server };
}

/**
 * The 101 answer to the handshake the client wrote (`key` from its
 * request), with a `Sec-WebSocket-Extensions` line when `extensions` is
 * given.
 */
export function acceptFor(
  request: Uint8Array,
  extensions?: string,
): Uint8Array {
  return acceptBytes(keyOf(request), extensions);
}

function keyOf(request: Uint8Array): string {
  const m = /sec-websocket-key:\s*(\S+)/i.exec(
    new TextDecoder().decode(request),
  );
  if (m === null) throw new Error("No Sec-WebSocket-Key in the request");
  return m[1];
}

function acceptBytes(key: string, extensions?: string): Uint8Array {
  return new TextEncoder().encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n` +
      (extensions === undefined
        ? ""
        : `Sec-WebSocket-Extensions: ${extensions}\r\n`) +
      "\r\n",
  );
}

/**
 * A client connected over a {@link memoryPipe}, the handshake done; the
 * answer accepts `extensions` when given (and `request` is the client's
 * handshake request).
 */
export async function openMemory(
  options: ConnectOptions = {},
  extensions?: string,
): Promise<{ ws: WsClient; server: MemoryServer; request: string }> {
  const { transport, server } = memoryPipe();
  const connecting = connect("ws://memory.test/", { ...options, transport });
  await server.written(1); // the request head arrives in one write
  const request = server.take();
  server.send(acceptFor(request, extensions));
  return {
    ws: await connecting,
    server,
    request: new TextDecoder().decode(request),
  };
}
