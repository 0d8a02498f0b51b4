/**
 * The driver loop for the sans-IO proxy exchanges in the codec tests: feeds
 * the proxy's bytes chunk by chunk (through `spare()` / `commit()`, as an
 * adapter does), takes every output, and records how the exchange ended.
 *
 * @module
 */

import { ok } from "node:assert/strict";
import {
  ProxyError,
  type ProxyHandshake,
  ReadBuf,
  type ReadBufOptions,
} from "../../src/codec/mod.ts";
import { concat, deliver, digest } from "./_helpers.ts";

/** How one run of an exchange ended, in comparable form. */
export interface ProxyRun {
  /** Each `output()`, as a digest (hex when short). */
  writes: string[];
  /** The step at the end: `"open"`, `"failed"`, or `"read"` (still waiting). */
  step: string;
  /** The `ProxyError`, when one was thrown. */
  error: {
    failure: string;
    status?: number;
    reply?: number;
    proxy: string;
    message: string;
    cause: string | null;
  } | null;
  /** Once open: the bytes left for the tunnel (digest); otherwise `""`. */
  rest: string;
}

/** Options for {@link runProxy}. */
export interface ProxyRunOptions {
  /** Call `end()` after the last chunk when the exchange still waits. */
  end?: boolean;
  /** The ReadBuf's options. */
  buf?: ReadBufOptions;
  /** Strings that must appear in no message, field or cause (credentials). */
  secrets?: string[];
  /** Called after every delivery (for memory bounds). */
  check?: (rb: ReadBuf) => void;
}

function record(err: ProxyError, secrets: string[]): ProxyRun["error"] {
  const cause = err.cause instanceof Error ? err.cause.message : null;
  const shown = JSON.stringify({ ...err, message: err.message, cause });
  for (const s of secrets) {
    ok(!shown.includes(s), `the error shows a secret: ${shown}`);
  }
  const out: NonNullable<ProxyRun["error"]> = {
    failure: err.failure,
    proxy: err.proxy,
    message: err.message,
    cause,
  };
  if (err.status !== undefined) out.status = err.status;
  if (err.reply !== undefined) out.reply = err.reply;
  return out;
}

/** Runs a fresh exchange from `make()` against the proxy bytes `chunks`. */
export function runProxy(
  make: () => ProxyHandshake,
  chunks: Uint8Array[],
  options: ProxyRunOptions = {},
): ProxyRun {
  const hs = make();
  const rb = new ReadBuf(options.buf);
  const writes: string[] = [];
  let error: ProxyRun["error"] = null;
  const settle = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof ProxyError)) throw err;
      error = record(err, options.secrets ?? []);
    }
  };
  // false once the exchange is over (open or failed)
  const pump = (): boolean => {
    let more = true;
    settle(() => {
      for (let guard = 0; guard < 16; guard++) {
        if (hs.step === "write") writes.push(digest(hs.output()));
        else if (hs.step !== "read") break;
        else if (hs.read(rb) === "read") return;
      }
      more = false;
    });
    options.check?.(rb);
    return more && error === null;
  };
  const later: Uint8Array[] = [];
  let going = pump();
  for (const c of chunks) {
    if (!going) {
      later.push(c);
      continue;
    }
    const n = deliver(rb, c, () => going = pump());
    if (n < 0) {
      throw new Error("The read buffer offered no room for more bytes");
    }
    if (n < c.length) later.push(c.subarray(n));
  }
  if (going && options.end) settle(() => hs.end());
  return {
    writes,
    step: hs.step,
    error,
    rest: hs.step === "open" ? digest(concat([rb.data(), ...later])) : "",
  };
}
