/**
 * Property-based fuzzing of the DEFLATE engines with fast-check: round
 * trips against node:zlib in both directions with random data, windows,
 * levels and chunkings, and hostile input (random bytes, mutated streams)
 * that must end in a typed error or in output within the bound, never in
 * anything else.
 *
 * ```sh
 * FUZZ_RUNS=20000 deno test --allow-env tests/codec/deflate/deflate_fuzz_test.ts
 * ```
 *
 * @module
 */

import { ok, strictEqual } from "node:assert/strict";
import * as zlib from "node:zlib";
import fc from "fast-check";
import {
  Deflater,
  InflateError,
  InflateLimitError,
  Inflater,
  PayloadDecoder,
  WriteBuf,
} from "../../../src/codec/mod.ts";
import { digest } from "../_helpers.ts";
import { check, cutInto } from "../_fuzz.ts";
import { SYNC_TAIL, ZlibSync } from "../../../bench/zlib_sync.ts";

/** Data worth compressing: random, few-symbol, and repeated runs. */
const data = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.uint8Array({ min: 97, max: 100, maxLength: 6000 }),
  fc.tuple(
    fc.uint8Array({ minLength: 1, maxLength: 300 }),
    fc.integer({ min: 1, max: 40 }),
  )
    .map(([unit, n]) => {
      const out = new Uint8Array(unit.length * n);
      for (let i = 0; i < n; i++) out.set(unit, i * unit.length);
      return out;
    }),
);

/** Where to cut a payload into the pieces it arrives in. */
const cuts = fc.array(fc.nat(), { maxLength: 12 });

Deno.test("fuzz: node:zlib streams inflate to their data in any chunking", () => {
  check(
    "zlib → Inflater",
    fc.property(
      data,
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 9, max: 15 }),
      cuts,
      (d, level, windowBits, fractions) => {
        const c = new Uint8Array(zlib.deflateRawSync(d, { level, windowBits }));
        const inf = new Inflater({ windowBits });
        for (const piece of cutInto(c, fractions)) inf.push(piece);
        ok(inf.ended);
        strictEqual(digest(inf.output()), digest(d));
      },
    ),
  );
});

Deno.test("fuzz: Deflater message streams inflate in node:zlib and in the Inflater", () => {
  check(
    "Deflater → zlib, Inflater",
    fc.property(
      fc.array(data, { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 8, max: 15 }),
      fc.boolean(),
      (messages, windowBits, takeover) => {
        const d = new Deflater({ windowBits });
        const z = new ZlibSync("inflate", { windowBits });
        const inf = new Inflater({ windowBits });
        const out = new WriteBuf();
        for (const m of messages) {
          if (!takeover) {
            d.reset();
            z.reset();
            inf.reset();
          } else inf.beginMessage();
          out.clear();
          d.compress(m, out);
          z.write(out.view(), zlib.constants.Z_SYNC_FLUSH);
          const back = z.write(
            SYNC_TAIL,
            zlib.constants.Z_SYNC_FLUSH,
            0,
            4,
            true,
          );
          strictEqual(digest(back), digest(m));
          inf.push(out.view());
          inf.push(SYNC_TAIL);
          strictEqual(digest(inf.output()), digest(m));
        }
        z.close();
      },
    ),
  );
});

/** Runs `fn`; only a typed decode error may come out of it. */
function typedOnly(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    ok(
      err instanceof InflateError || err instanceof InflateLimitError,
      `unexpected ${(err as Error)?.name}: ${(err as Error)?.message}`,
    );
  }
}

Deno.test("fuzz: random bytes end in output within the bound or a typed error", () => {
  check(
    "garbage → Inflater",
    fc.property(
      fc.uint8Array({ maxLength: 2000 }),
      fc.integer({ min: 8, max: 15 }),
      cuts,
      (g, windowBits, fractions) => {
        const inf = new Inflater({ windowBits, maxOutputSize: 100_000 });
        typedOnly(() => {
          for (const piece of cutInto(g, fractions)) inf.push(piece);
        });
        ok(inf.end - inf.start <= 100_000);
      },
    ),
  );
});

Deno.test("fuzz: mutated streams end in a typed error or some output, never elsewhere", () => {
  check(
    "mutated zlib → Inflater, PayloadDecoder",
    fc.property(
      data,
      fc.array(
        fc.tuple(
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.integer({ min: 1, max: 255 }),
        ),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
      (d, flips) => {
        const gz = new Uint8Array(zlib.gzipSync(d));
        for (const [where, mask] of flips) {
          gz[Math.floor(where * gz.length)] ^= mask;
        }
        const p = new PayloadDecoder({ maxOutputSize: 50_000 });
        typedOnly(() => p.decode("gzip", gz));
        const raw = gz.subarray(10, gz.length - 8);
        const inf = new Inflater({ maxOutputSize: 50_000 });
        typedOnly(() => inf.push(raw));
      },
    ),
  );
});

Deno.test("fuzz: gzip payloads decode in any chunking", () => {
  check(
    "gzip → PayloadDecoder",
    fc.property(
      data,
      cuts,
      fc.integer({ min: 1, max: 3 }),
      (d, fractions, members) => {
        const one = new Uint8Array(zlib.gzipSync(d));
        const all = new Uint8Array(one.length * members);
        for (let i = 0; i < members; i++) all.set(one, i * one.length);
        const p = new PayloadDecoder();
        p.begin("gzip");
        for (const piece of cutInto(all, fractions)) p.push(piece);
        p.finish();
        strictEqual(p.output().length, d.length * members);
        strictEqual(digest(p.output().subarray(0, d.length)), digest(d));
      },
    ),
  );
});
