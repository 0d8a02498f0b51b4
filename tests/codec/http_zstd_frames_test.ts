/**
 * The zstd frame walk that tells a complete zstd body from a truncated one
 * (Deno 2.9.6's `zstdDecompressSync` decodes either without an error).
 */
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { checkZstdFrames } from "../../src/codec/http/zstd_frames.ts";
import { bookJson } from "../../bench/deflate_fixtures.ts";
import { concat, noise } from "./_helpers.ts";

const { ZSTD_c_checksumFlag } = zlib.constants as unknown as Record<
  string,
  number
>;

const zstd = (b: Uint8Array, checksum = false) =>
  new Uint8Array(zlib.zstdCompressSync(b, {
    params: { [ZSTD_c_checksumFlag]: checksum ? 1 : 0 },
  } as zlib.ZlibOptions));

/** A skippable frame of `n` bytes of payload. */
function skippable(n: number): Uint8Array {
  const f = new Uint8Array(8 + n);
  f.set([0x5a, 0x2a, 0x4d, 0x18, n & 0xff, n >> 8, 0, 0]);
  return f;
}

const SAMPLES: [string, Uint8Array][] = [
  ["JSON (compressed blocks)", zstd(bookJson(200_000))],
  ["noise (raw blocks)", zstd(noise(300_000))],
  ["zeros (RLE blocks)", zstd(new Uint8Array(500_000))],
  ["with a content checksum", zstd(bookJson(10_000), true)],
  ["empty", zstd(new Uint8Array(0))],
  [
    "two frames and a skippable one",
    concat([zstd(bookJson(3000)), skippable(5), zstd(noise(100))]),
  ],
];

Deno.test("whole zstd bodies pass the frame walk", () => {
  for (const [, b] of SAMPLES) checkZstdFrames(b);
});

Deno.test("a truncated zstd body fails the frame walk unless it ends exactly between frames", () => {
  for (const [what, b] of SAMPLES) {
    const step = Math.max(1, Math.floor(b.length / 3000));
    let boundaries = 0;
    for (let n = 0; n < b.length; n += n < 64 || b.length - n < 64 ? 1 : step) {
      let whole = true;
      try {
        checkZstdFrames(b.subarray(0, n));
      } catch (err) {
        assert.match((err as Error).message, /Expected complete zstd frames/);
        whole = false;
      }
      if (!whole) continue;
      // then the rest is whole frames too, starting with a magic number
      checkZstdFrames(b.subarray(n));
      boundaries++;
    }
    // node:zlib ends its output with an empty frame, so one boundary each
    assert.ok(boundaries <= 3, `${what}: ${boundaries} boundaries`);
  }
});

Deno.test("bytes after the last frame, another magic or a reserved block type fail the frame walk", () => {
  const b = zstd(bookJson(3000));
  for (
    const bad of [
      concat([b, new Uint8Array([0])]),
      concat([b, new Uint8Array([1, 2, 3, 4, 5])]),
      concat([new Uint8Array([0x28, 0xb5, 0x2f, 0xfe]), b.subarray(4)]),
      new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x07, 0x00, 0x00]),
      new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x08, 0x00, 0x01, 0x00, 0x00]),
    ]
  ) {
    assert.throws(() => checkZstdFrames(bad), /Expected complete zstd frames/);
  }
});
