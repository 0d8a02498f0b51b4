/**
 * CRC-32 (ISO-HDLC, the one gzip uses: RFC 1952 §8), four bytes at a time.
 *
 * @module
 */

const TABLE = new Int32Array(1024); // four 256-entry tables (slicing by 4)
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  TABLE[i] = c;
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 4; t++) {
    const prev = TABLE[(t - 1) * 256 + i];
    TABLE[t * 256 + i] = (prev >>> 8) ^ TABLE[prev & 0xff];
  }
}

/**
 * Updates the CRC-32 `crc` (0 to start) with `data[from, to)` and returns
 * it, as an unsigned 32-bit number.
 *
 * @example
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * console.assert(crc32(0, new TextEncoder().encode("123456789")) === 0xcbf43926);
 * ```
 */
export function crc32(
  crc: number,
  data: Uint8Array,
  from = 0,
  to: number = data.length,
): number {
  let c = ~crc;
  let i = from;
  for (const end4 = to - 3; i < end4; i += 4) {
    c ^= data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) |
      (data[i + 3] << 24);
    c = TABLE[768 + (c & 0xff)] ^ TABLE[512 + ((c >>> 8) & 0xff)] ^
      TABLE[256 + ((c >>> 16) & 0xff)] ^ TABLE[c >>> 24];
  }
  for (; i < to; i++) c = (c >>> 8) ^ TABLE[(c ^ data[i]) & 0xff];
  return ~c >>> 0;
}
