import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Utf8Validator } from "../../src/codec/mod.ts";
import { asciiEnd, checkUtf8 } from "../../src/codec/ws/utf8.ts";
import { bytes, enc } from "./_helpers.ts";

/** Index of the first byte at which a fatal streaming TextDecoder fails, or -1. */
function firstBadByte(b: Uint8Array): number {
  const d = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  for (let i = 0; i < b.length; i++) {
    try {
      d.decode(b.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return -1;
}

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function isValid(b: Uint8Array): boolean {
  try {
    fatal.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Feeds one byte at a time: index of the first `false`, or -1. */
function validatorFailsAt(b: Uint8Array): number {
  const v = new Utf8Validator();
  for (let i = 0; i < b.length; i++) {
    if (!v.feed(b, i, i + 1)) return i;
  }
  return -1;
}

Deno.test("checkUtf8 tells ASCII, non-ASCII and invalid apart", () => {
  strictEqual(checkUtf8(enc.encode("hello"), 0, 5), 1);
  strictEqual(checkUtf8(new Uint8Array(0), 0, 0), 1);
  strictEqual(checkUtf8(enc.encode("héllo"), 0, 6), 2);
  strictEqual(checkUtf8(enc.encode("€𐍈"), 0, 7), 2);
  strictEqual(checkUtf8(bytes(0xff), 0, 1), 0);
  strictEqual(checkUtf8(bytes(0xe2, 0x82), 0, 2), 0, "incomplete is invalid");
  strictEqual(checkUtf8(bytes(0xff, 0x41, 0xff), 1, 2), 1, "only [from, to)");
});

Deno.test("every 1- and 2-byte sequence is judged as the WHATWG decoder judges it", () => {
  const b = new Uint8Array(2);
  for (let x = 0; x < 256; x++) {
    b[0] = x;
    strictEqual(checkUtf8(b, 0, 1) !== 0, isValid(b.subarray(0, 1)), `${x}`);
    for (let y = 0; y < 256; y++) {
      b[1] = y;
      strictEqual(checkUtf8(b, 0, 2) !== 0, isValid(b), `${x} ${y}`);
    }
  }
});

Deno.test("3- and 4-byte sequences at the range edges are judged as the WHATWG decoder judges them", () => {
  const edges = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff];
  const seconds = [...edges, 0x41, 0x81, 0x8e, 0x91, 0x9e, 0xa1, 0xbe, 0xc1];
  for (let x = 0xc0; x < 0x100; x++) {
    for (const y of seconds) {
      for (const z of edges) {
        const b3 = bytes(x, y, z);
        strictEqual(checkUtf8(b3, 0, 3) !== 0, isValid(b3), `${x} ${y} ${z}`);
        if (x < 0xf0) continue;
        for (const w of [0x41, 0x80, 0xbf, 0xc0]) {
          const b4 = bytes(x, y, z, w);
          strictEqual(
            checkUtf8(b4, 0, 4) !== 0,
            isValid(b4),
            `${x} ${y} ${z} ${w}`,
          );
        }
      }
    }
  }
});

Deno.test("the validator fails at the first byte that makes the input hopeless", () => {
  const cases = [
    bytes(0x80),
    bytes(0xc0),
    bytes(0xc1),
    bytes(0xe0, 0x9f),
    bytes(0xe0, 0xa0, 0x7f),
    bytes(0xed, 0xa0),
    bytes(0xf0, 0x8f),
    bytes(0xf4, 0x90),
    bytes(0xf5),
    bytes("abc", 0xe2, 0x82, 0x41),
    bytes(0xf0, 0x9f, 0x98, 0x80, 0xf0, 0x9f, 0x98, 0xc0),
  ];
  for (const b of cases) {
    const want = firstBadByte(b);
    ok(want >= 0);
    strictEqual(validatorFailsAt(b), want, Array.from(b).join(" "));
  }
});

Deno.test("for 3-byte prefixes the validator fails exactly where the streaming decoder does", () => {
  for (let x = 0x80; x < 0x100; x++) {
    for (let y = 0x70; y < 0xd0; y++) {
      for (const z of [0x00, 0x80, 0x9f, 0xa0, 0xbf, 0xc0]) {
        const b = bytes(x, y, z);
        strictEqual(validatorFailsAt(b), firstBadByte(b), `${x} ${y} ${z}`);
      }
    }
  }
});

Deno.test("a character fed in pieces is incomplete until its last byte", () => {
  const b = enc.encode("𐍈");
  const v = new Utf8Validator();
  for (let i = 0; i < 3; i++) {
    ok(v.feed(b, i, i + 1));
    strictEqual(v.complete, false);
  }
  ok(v.feed(b, 3, 4));
  strictEqual(v.complete, true);
  strictEqual(v.ascii, false);
});

Deno.test("reset starts a new message: ASCII again and no pending character", () => {
  const v = new Utf8Validator();
  ok(v.feed(bytes(0xe2), 0, 1));
  strictEqual(v.complete, false);
  v.reset();
  strictEqual(v.complete, true);
  strictEqual(v.ascii, true);
  ok(v.feed(enc.encode("abc"), 0, 3));
  strictEqual(v.ascii, true);
  ok(!v.feed(bytes(0x80), 0, 1), "a continuation byte cannot start a message");
});

function wordsOf(b: Uint8Array): Uint32Array {
  return new Uint32Array(b.buffer, 0, b.buffer.byteLength >>> 2);
}

Deno.test("asciiEnd finds the first non-ASCII byte at every alignment", () => {
  const b = new Uint8Array(64);
  const w = wordsOf(b);
  for (let from = 0; from < 20; from++) {
    for (let to = from; to < 40; to++) {
      b.fill(0x41);
      strictEqual(asciiEnd(b, w, from, to), to, `all ASCII [${from}, ${to})`);
      for (let bad = from; bad < to; bad++) {
        b.fill(0x41);
        b[bad] = 0xc3;
        strictEqual(asciiEnd(b, w, from, to), bad, `[${from}, ${to}) @${bad}`);
      }
    }
  }
});

Deno.test("asciiEnd never returns an index before from", () => {
  // a non-ASCII byte just before `from` must not be reported
  const b = new Uint8Array(16);
  b.fill(0xff);
  const w = wordsOf(b);
  for (let from = 0; from < 12; from++) {
    strictEqual(asciiEnd(b, w, from, from), from, `empty range at ${from}`);
  }
  b.fill(0x41);
  b[4] = 0xff;
  strictEqual(asciiEnd(b, w, 5, 6), 6);
  deepStrictEqual(
    [1, 2, 3].map((f) => asciiEnd(b, w, f, 4)),
    [4, 4, 4],
  );
});
