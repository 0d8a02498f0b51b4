/**
 * The compressed payloads of RFC 7692 §7.2.3, each of which inflates to
 * "Hello" (with the 00 00 ff ff tail appended, §7.2.2).
 *
 * @module
 */

function hex(s: string): Uint8Array {
  return new Uint8Array(s.split(" ").map((b) => parseInt(b, 16)));
}

/** §7.2.3.1: a fixed-Huffman block of literals. */
export const HELLO: Uint8Array = hex("f2 48 cd c9 c9 07 00");
/** §7.2.3.2: the second "Hello" of a connection, one match into the first. */
export const HELLO_AGAIN: Uint8Array = hex("f2 00 11 00 00");
/** §7.2.3.3: a stored block (the last 00 starts the flush's empty block). */
export const HELLO_STORED: Uint8Array = hex(
  "00 05 00 fa ff 48 65 6c 6c 6f 00",
);
/** §7.2.3.4: a final block, then a byte that is not read. */
export const HELLO_FINAL: Uint8Array = hex("f3 48 cd c9 c9 07 00 00");
/** §7.2.3.5: two blocks in one message ("He" and "llo"). */
export const HELLO_TWO_BLOCKS: Uint8Array = hex(
  "f2 48 05 00 00 00 ff ff ca c9 c9 07 00",
);
/** §7.2.3.6: a first fragment that keeps its whole sync flush... */
export const HELLO_FLUSHED: Uint8Array = hex(
  "f2 48 cd c9 c9 07 00 00 00 ff ff",
);
/** ...and the empty last fragment. */
export const EMPTY_FRAGMENT: Uint8Array = hex("00");
