/**
 * permessage-deflate for {@link connect}: the `perMessageDeflate` option,
 * the offers it makes, and the send side's choice of which messages to
 * compress.
 *
 * @module
 */

import {
  boolean,
  check,
  describe,
  integer,
  type Rule,
  type Rules,
} from "../options.ts";
import type {
  DeflateOffer,
  DeflateParams,
} from "../codec/ws/deflate_negotiation.ts";
import { MessageDeflater } from "../codec/ws/permessage_deflate.ts";

/**
 * The `perMessageDeflate` option of `connect()`: how the client offers
 * permessage-deflate (RFC 7692) and which messages it compresses. Window
 * sizes are base-2 logarithms, 8 to 15. See `docs/websocket.md` for the
 * default and what each choice costs.
 *
 * @example
 * ```ts
 * import type { PerMessageDeflateOptions } from "@x/nexus-ws";
 * // a 4 KiB server window, strictly: a server that cannot honour it declines compression
 * const options: PerMessageDeflateOptions = { serverMaxWindowBits: 12, threshold: 256 };
 * console.assert(options.threshold === 256);
 * ```
 */
export interface PerMessageDeflateOptions {
  /**
   * The largest window the server may compress with: the receive side's
   * memory (about 1.5 × 2^N bytes of inflater buffer plus 8 KiB of tables
   * per connection whose server compresses). Set, it is one offer with
   * `server_max_window_bits=N` (nothing asked at 15), which a server must
   * honour or decline. Unset (the default), the client offers 10 first and
   * then a second offer without a limit, for servers that cannot honour
   * one (RFC 7692 §5 allows several offers): most servers then compress
   * with a 1 KiB window, the others with up to 32 KiB.
   */
  serverMaxWindowBits?: number;
  /**
   * The largest window the client compresses with (default 15). Offered as
   * `client_max_window_bits`; the server may ask for a smaller one. The
   * compressor (about 1.5 × 2^N bytes plus 48 KiB) is allocated at the
   * first compressed send.
   */
  clientMaxWindowBits?: number;
  /**
   * Ask the server to compress every message on its own
   * (`server_no_context_takeover`; default `false`): less receive memory
   * (the inflater keeps no window between messages), much worse ratio on
   * small messages.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Compress every message on its own (`client_no_context_takeover`;
   * default `false`, and also done when the server asks for it).
   */
  clientNoContextTakeover?: boolean;
  /**
   * Messages of at least this many bytes are compressed when sent
   * (default 1024; 0 compresses every message). A text message counts its
   * length in UTF-16 code units (its UTF-8 length when it is ASCII). A
   * send's `{ compress }` option overrides it for that message.
   */
  threshold?: number;
}

/**
 * Per-message send options of `sendText()` / `sendBinary()`.
 *
 * @example
 * ```ts
 * import type { SendOptions } from "@x/nexus-ws";
 * const raw: SendOptions = { compress: false }; // this message goes uncompressed
 * console.assert(raw.compress === false);
 * ```
 */
export interface SendOptions {
  /**
   * `false`: send this message uncompressed. `true`: compress it whatever
   * its size. Unset: compress it when it reaches the `threshold`. Only
   * meaningful when permessage-deflate was negotiated (see
   * `WsClient.perMessageDeflate`); otherwise messages go uncompressed.
   */
  compress?: boolean;
}

/** The window the default offer asks the server for first (1 KiB). */
export const PREFERRED_SERVER_WINDOW_BITS = 10;

const DEFLATE_OPTION_RULES: Rules = {
  serverMaxWindowBits: integer(8, 15),
  clientMaxWindowBits: integer(8, 15),
  serverNoContextTakeover: boolean,
  clientNoContextTakeover: boolean,
  threshold: integer(0),
};

/** The rule of the `perMessageDeflate` option: a boolean or the options object. */
export const PER_MESSAGE_DEFLATE_RULE: Rule = (v, name) => {
  if (typeof v === "boolean") return;
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new TypeError(
      `Expected option "${name}" to be a boolean or an object, got ${
        describe(v)
      }`,
    );
  }
  check(v, DEFLATE_OPTION_RULES, name);
};

/** The rules of {@link SendOptions}. */
export const SEND_RULES: Rules = { compress: boolean };

/**
 * The offers `connect()` makes for the `perMessageDeflate` option (already
 * checked): none for `false`; for `true` or an object, one offer when
 * `serverMaxWindowBits` is set, else the preferred small window then the
 * same offer without it.
 */
export function deflateOffers(
  option: boolean | PerMessageDeflateOptions | undefined,
): DeflateOffer[] {
  if (option === false) return [];
  const o: PerMessageDeflateOptions = typeof option === "object" ? option : {};
  const offer: DeflateOffer = {
    clientMaxWindowBits: o.clientMaxWindowBits,
    serverMaxWindowBits: o.serverMaxWindowBits,
    clientNoContextTakeover: o.clientNoContextTakeover,
    serverNoContextTakeover: o.serverNoContextTakeover,
  };
  if (o.serverMaxWindowBits !== undefined) return [offer];
  return [
    { ...offer, serverMaxWindowBits: PREFERRED_SERVER_WINDOW_BITS },
    offer,
  ];
}

/** The send threshold the option sets (default 1024 bytes). */
export function deflateThreshold(
  option: boolean | PerMessageDeflateOptions | undefined,
): number {
  return (typeof option === "object" ? option.threshold : undefined) ?? 1024;
}

/**
 * The send side of a connection that negotiated permessage-deflate: which
 * messages to compress, and the compressor, made at the first of them.
 * Messages are compressed in the order they are encoded, which is the
 * order they go on the wire (what context takeover needs).
 */
export class SendCompression {
  #params: DeflateParams;
  #threshold: number;
  #deflater: MessageDeflater | null = null;

  /** The send side for the settled `params`. */
  constructor(params: DeflateParams, threshold: number) {
    this.#params = params;
    this.#threshold = threshold;
  }

  /**
   * The compressor for a message of `size` bytes, or `null` to send it
   * uncompressed (`compress` is the send's own choice, if any).
   */
  deflaterFor(
    size: number,
    compress: boolean | undefined,
  ): MessageDeflater | null {
    if (
      compress === false || (compress === undefined && size < this.#threshold)
    ) {
      return null;
    }
    return this.#deflater ??= new MessageDeflater({
      windowBits: this.#params.clientMaxWindowBits,
      noContextTakeover: this.#params.clientNoContextTakeover,
    });
  }

  /** Bytes held by the compressor (0 before the first compressed send). */
  get memory(): number {
    return this.#deflater?.memory ?? 0;
  }
}
