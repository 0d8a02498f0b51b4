/**
 * `checkZstdFrames`: walks the frames of a zstd body (RFC 8878 §3.1)
 * without decoding them, to tell a complete body from a truncated one or
 * one with bytes after its last frame (which Deno 2.9.6's
 * `zstdDecompressSync` decodes as far as it can, without an error).
 *
 * @module
 */

const MAGIC = 0xfd2fb528;
const SKIPPABLE = 0x184d2a50; // the top 28 bits of a skippable frame's magic
const FCS_SIZE = [0, 2, 4, 8];
const DID_SIZE = [0, 1, 2, 4];

function bad(why: string): never {
  throw new Error(`Expected complete zstd frames, got ${why}`);
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>>
    0;
}

/**
 * Checks that `b` is a sequence of whole zstd frames (and skippable
 * frames) and nothing else; throws `Error` saying what is wrong.
 */
export function checkZstdFrames(b: Uint8Array): void {
  let at = 0;
  if (b.length === 0) bad("no frame");
  while (at < b.length) {
    if (b.length - at < 4) bad(`${b.length - at} stray bytes at the end`);
    const magic = u32(b, at);
    if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE) {
      if (b.length - at < 8) bad("a skippable frame cut in its header");
      at += 8 + u32(b, at + 4);
      if (at > b.length) bad("a skippable frame cut short");
      continue;
    }
    if (magic !== MAGIC) bad(`bytes that are not a zstd frame at ${at}`);
    at = frameEnd(b, at + 4);
  }
}

/** The end of the frame whose header starts at `at` (after the magic number). */
function frameEnd(b: Uint8Array, at: number): number {
  if (at >= b.length) bad("a frame cut in its header");
  const desc = b[at++];
  if ((desc & 0x08) !== 0) bad("a frame header with its reserved bit set");
  const single = (desc & 0x20) !== 0;
  let fcs = FCS_SIZE[desc >>> 6];
  if (fcs === 0 && single) fcs = 1;
  at += (single ? 0 : 1) + DID_SIZE[desc & 3] + fcs;
  for (;;) {
    if (at + 3 > b.length) bad("a frame cut before its last block");
    const h = b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
    const type = (h >>> 1) & 3;
    if (type === 3) bad("a block of the reserved type");
    at += 3 + (type === 1 ? 1 : h >>> 3);
    if (at > b.length) bad("a block cut short");
    if ((h & 1) !== 0) break;
  }
  if ((desc & 0x04) !== 0) at += 4; // content checksum
  if (at > b.length) bad("a frame cut in its checksum");
  return at;
}
