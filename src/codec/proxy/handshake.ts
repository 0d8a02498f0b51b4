/**
 * The base of the proxy exchanges (`HttpConnect`, `Socks5Connect`): a
 * byte-in/byte-out machine that an adapter drives with one loop, whatever
 * the proxy protocol.
 *
 * @module
 */

import type { ReadBuf } from "../read_buf.ts";
import {
  ProxyError,
  type ProxyErrorInit,
  type ProxyProtocol,
} from "../../errors.ts";

/**
 * Where a proxy exchange stands, i.e. what its driver does next:
 *
 * - `"write"`: write the bytes of `output()`;
 * - `"read"`: read from the proxy into the `ReadBuf` and call `read(rb)`
 *   (or `end()` at the end of the stream);
 * - `"open"`: the tunnel is open; bytes left in the `ReadBuf` already
 *   belong to it;
 * - `"failed"`: a `ProxyError` was thrown; close the connection.
 *
 * @example
 * ```ts
 * import { HttpConnect } from "@x/nexus-ws/codec";
 * const step = new HttpConnect({ proxy: "127.0.0.1:3128", hostname: "example.com", port: 443 }).step;
 * console.assert(step === "write");
 * ```
 */
export type ProxyStep = "write" | "read" | "open" | "failed";

/**
 * A username and password for a proxy: sent as HTTP Basic
 * `Proxy-Authorization` (RFC 7617) to an HTTP proxy, or by the RFC 1929
 * sub-negotiation to a SOCKS5 proxy. Never shown in errors.
 *
 * @example
 * ```ts
 * import type { ProxyCredentials } from "@x/nexus-ws/codec";
 * const c: ProxyCredentials = { username: "bot", password: "s3cret" };
 * console.assert(c.username === "bot");
 * ```
 */
export interface ProxyCredentials {
  /** The username (HTTP: no `:`; SOCKS5: 1 to 255 bytes of UTF-8). */
  username: string;
  /** The password (SOCKS5: 1 to 255 bytes of UTF-8). */
  password: string;
}

const NOTHING = new Uint8Array(0);

/**
 * A proxy exchange as a sans-IO machine, the base of `HttpConnect` and
 * `Socks5Connect`. The driver loop is the same for every
 * protocol:
 *
 * ```text
 * while step is not "open":
 *   "write": write output() to the proxy
 *   "read":  read into rb (at the end of the stream: end()), then read(rb)
 * ```
 *
 * `read` and `end` throw {@link ProxyError} when the proxy refuses or
 * breaks the protocol (the step is then `"failed"`); calling a method in
 * the wrong step throws `TypeError`. Once open, the bytes left in the
 * `ReadBuf` are the first bytes of the tunnel: hand them to whatever runs
 * inside it.
 *
 * @example
 * ```ts
 * import { HttpConnect, type ProxyHandshake, ReadBuf } from "@x/nexus-ws/codec";
 * const hs: ProxyHandshake = new HttpConnect({ proxy: "127.0.0.1:3128", hostname: "example.com", port: 443 });
 * const rb = new ReadBuf({ bufferCapacity: 1024 });
 * console.assert(new TextDecoder().decode(hs.output()).startsWith("CONNECT example.com:443 HTTP/1.1\r\n"));
 * rb.push(new TextEncoder().encode("HTTP/1.1 200 Connection established\r\n\r\n"));
 * console.assert(hs.read(rb) === "open" && rb.length === 0);
 * ```
 */
export abstract class ProxyHandshake {
  #step: ProxyStep = "write";
  #out: Uint8Array;
  #proxy: string;
  #protocol: ProxyProtocol;

  /** Starts in step `"write"` with the `first` message to send. */
  protected constructor(
    proxy: string,
    protocol: ProxyProtocol,
    first: Uint8Array,
  ) {
    this.#proxy = proxy;
    this.#protocol = protocol;
    this.#out = first;
  }

  /** What the driver does next. */
  get step(): ProxyStep {
    return this.#step;
  }

  /** The proxy's `host:port`, as errors name it. */
  get proxy(): string {
    return this.#proxy;
  }

  /** `"http"` (CONNECT) or `"socks5"`. */
  get protocol(): ProxyProtocol {
    return this.#protocol;
  }

  /**
   * What the exchange waits for from the proxy in step `"read"` (e.g.
   * `"the answer to CONNECT example.com:443"`), for an adapter's timeout
   * message; `""` in the other steps.
   */
  get waiting(): string {
    return this.#step === "read" ? this.awaited() : "";
  }

  /**
   * The bytes to write now (step `"write"`); the step moves to `"read"`.
   * A view valid until the next call on the machine.
   */
  output(): Uint8Array {
    this.#expect("write", "output()");
    const out = this.#out;
    this.#out = NOTHING;
    this.#step = "read";
    return out;
  }

  /**
   * Parses the proxy's bytes from `rb` (step `"read"`), consuming only what
   * belongs to the exchange, and returns the new step: `"read"` for more
   * bytes, `"write"` for the next message, `"open"`. Throws
   * {@link ProxyError}.
   */
  read(rb: ReadBuf): ProxyStep {
    this.#expect("read", "read()");
    return this.receive(rb);
  }

  /**
   * The proxy ended the stream before the tunnel opened: throws
   * {@link ProxyError} (failure `"protocol"`).
   */
  end(): never {
    this.#expect("read", "end()");
    throw this.fail(this.ended(), { failure: "protocol" });
  }

  /** The protocol's parsing of `rb`, in step `"read"`. */
  protected abstract receive(rb: ReadBuf): ProxyStep;

  /** The message for the end of the stream in step `"read"`. */
  protected abstract ended(): string;

  /** What the exchange waits for in step `"read"`. */
  protected abstract awaited(): string;

  /** Queues the next message; the step moves to `"write"`. */
  protected send(bytes: Uint8Array): ProxyStep {
    this.#out = bytes;
    return this.#step = "write";
  }

  /** The tunnel is open; the step moves to `"open"`. */
  protected opened(): ProxyStep {
    return this.#step = "open";
  }

  /** A {@link ProxyError} naming this proxy; the step moves to `"failed"`. */
  protected fail(
    message: string,
    init: Omit<ProxyErrorInit, "proxy" | "protocol">,
    options?: ErrorOptions,
  ): ProxyError {
    this.#step = "failed";
    return new ProxyError(
      message,
      { proxy: this.#proxy, protocol: this.#protocol, ...init },
      options,
    );
  }

  #expect(step: ProxyStep, call: string): void {
    if (this.#step !== step) {
      throw new TypeError(
        `Expected ${call} in step "${step}", got step "${this.#step}"`,
      );
    }
  }
}
