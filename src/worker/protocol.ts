/**
 * What the main side and the Worker of a {@link connectInWorker} connection
 * tell each other besides the messages themselves: the setup and its
 * answer (through `postMessage`, once), control events (through the rings,
 * in order with the messages), and errors turned into plain data and back
 * into the same typed errors.
 *
 * @module
 */

import {
  AppHeartbeatTimeoutError,
  ConnectionClosedError,
  HandshakeError,
  NetworkError,
  type NetworkPeer,
  type NetworkStage,
  ProtocolError,
  ProxyError,
  type ProxyFailure,
  type ProxyProtocol,
  StaleFeedError,
  TimeoutError,
} from "../errors.ts";
import { HeaderList } from "../codec/http/header_list.ts";

/** The first message to the Worker: where to connect, how, and the two rings. */
export interface Setup {
  /** The URL, as a string. */
  url: string;
  /** `connect()` options, plain data only. */
  options: Record<string, unknown>;
  /** The receive ring (the Worker produces). */
  rx: SharedArrayBuffer;
  /** The send ring (the main side produces). */
  tx: SharedArrayBuffer;
}

/** The Worker's answer to the setup. */
export type SetupAnswer =
  | { type: "open"; protocol: string }
  | { type: "failed"; error: ErrorData };

/** A control event in a ring (JSON in a `Kind.Event` record). */
export type RingEvent =
  /** Worker → main: the connection ended; the last record of the ring. */
  | { type: "end"; code: number; reason: string; error: ErrorData | null }
  /** Main → Worker: send a ping. */
  | { type: "ping"; data: number[] }
  /** Main → Worker: close the connection. */
  | { type: "close"; code?: number; reason?: string };

/** An error as plain data: its class name, message, and the fields of that class. */
export interface ErrorData {
  name: string;
  message: string;
  code?: number;
  reason?: string;
  clean?: boolean;
  status?: number;
  stage?: NetworkStage;
  host?: string;
  port?: number;
  peer?: NetworkPeer;
  timeout?: number;
  proxy?: string;
  protocol?: ProxyProtocol;
  failure?: ProxyFailure;
  reply?: number;
  /** A `HandshakeError`'s header fields. */
  headers?: [string, string][];
  cause?: string;
}

/** The plain fields {@link errorData} copies (numbers, strings, booleans). */
const FIELDS = [
  "code",
  "reason",
  "clean",
  "status",
  "stage",
  "host",
  "port",
  "peer",
  "timeout",
  "proxy",
  "protocol",
  "failure",
  "reply",
] as const;

/** `err` as plain data (its cause kept as a message). */
export function errorData(err: unknown): ErrorData {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const e = err as Error & Partial<ErrorData>;
  const data: ErrorData = { name: e.name, message: e.message };
  for (const k of FIELDS) {
    if (
      typeof e[k] === "number" || typeof e[k] === "string" ||
      typeof e[k] === "boolean"
    ) {
      (data as unknown as Record<string, unknown>)[k] = e[k];
    }
  }
  if (err instanceof HandshakeError && err.headers.size > 0) {
    data.headers = [...err.headers];
  }
  const cause: unknown = (err as Error).cause;
  if (cause !== undefined) {
    data.cause = cause instanceof Error
      ? `${cause.name}: ${cause.message}`
      : String(cause);
  }
  return data;
}

/**
 * The typed error `data` describes: a {@link ProtocolError},
 * {@link ConnectionClosedError}, {@link TimeoutError} (and its
 * {@link AppHeartbeatTimeoutError} and {@link StaleFeedError}),
 * {@link HandshakeError}, {@link NetworkError} or {@link ProxyError} as the
 * Worker raised it
 * (same class, message and fields; the cause as an `Error` with its
 * message), `TypeError` / `RangeError`, else an `Error` of that name.
 */
export function errorFrom(data: ErrorData): Error {
  const options = data.cause === undefined
    ? undefined
    : { cause: new Error(data.cause) };
  switch (data.name) {
    case "ProtocolError":
      return new ProtocolError(data.code ?? 1002, data.message, options);
    case "ConnectionClosedError":
      return new ConnectionClosedError(
        data.code ?? 1006,
        data.reason ?? "",
        data.clean ?? false,
        data.message,
        options,
      );
    case "TimeoutError":
      return new TimeoutError(data.message, options);
    case "AppHeartbeatTimeoutError":
      return new AppHeartbeatTimeoutError(data.timeout ?? 0, options);
    case "StaleFeedError":
      return new StaleFeedError(data.timeout ?? 0, options);
    case "HandshakeError":
      return new HandshakeError(
        data.message,
        data.status,
        headerList(data.headers),
        options,
      );
    case "ProxyError":
      return new ProxyError(data.message, {
        proxy: data.proxy ?? "",
        protocol: data.protocol ?? "http",
        failure: data.failure ?? "protocol",
        status: data.status,
        reply: data.reply,
      }, options);
    case "NetworkError":
      return networkError(data, options);
    case "TypeError":
      return new TypeError(data.message, options);
    case "RangeError":
      return new RangeError(data.message, options);
  }
  const err = new Error(data.message, options);
  err.name = data.name;
  return err;
}

function headerList(fields: [string, string][] | undefined): HeaderList {
  const list = new HeaderList();
  for (const [name, value] of fields ?? []) list.append(name, value);
  return list;
}

function networkError(
  data: ErrorData,
  options: ErrorOptions | undefined,
): NetworkError {
  const err = new NetworkError(
    data.stage ?? "io",
    data.host ?? "",
    data.port ?? 0,
    { ...options, peer: data.peer, detail: data.cause ?? "a failure" },
  );
  // the message the Worker made, word for word
  Object.defineProperty(err, "message", { value: data.message });
  return err;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An event as the bytes of its record. */
export function encodeEvent(event: RingEvent): Uint8Array {
  return encoder.encode(JSON.stringify(event));
}

/**
 * The connection's end event as the bytes of a record of at most `max`
 * bytes (a ring holds nothing larger, and the end must get through): when
 * its strings make it longer (an error's message and cause have no bound,
 * and JSON writes a control character of a close reason in 6 bytes), they
 * are cut, shorter and shorter, down to empty strings (at least 504 bytes
 * of the smallest ring are then ample); the error's class name and numbers
 * stay.
 */
export function encodeEnd(event: EndEvent, max: number): Uint8Array {
  let bytes = encodeEvent(event);
  for (let keep = 64; bytes.length > max; keep >>= 1) {
    bytes = encodeEvent(cutStrings(event, keep));
    if (keep === 0) break;
  }
  return bytes;
}

type EndEvent = Extract<RingEvent, { type: "end" }>;

/** `event` with its strings (but the error's class name) cut to `keep` characters. */
function cutStrings(event: EndEvent, keep: number): EndEvent {
  const error: Record<string, unknown> | null = event.error &&
    { ...event.error, headers: undefined };
  for (const k in error) {
    const v = error[k];
    if (k !== "name" && typeof v === "string") error[k] = v.slice(0, keep);
  }
  return {
    ...event,
    reason: event.reason.slice(0, keep),
    error: error as ErrorData | null,
  };
}

/** The event in `bytes[start, end)` (a copy is decoded: the ring is shared memory). */
export function decodeEvent(
  bytes: Uint8Array,
  start: number,
  end: number,
): RingEvent {
  return JSON.parse(decoder.decode(bytes.slice(start, end)));
}
