import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { HttpProtocolError, ReadBuf } from "../../src/codec/mod.ts";
import {
  ChunkedDecoder,
  type ChunkedLimits,
  parseChunkSize,
} from "../../src/codec/http/chunked.ts";
import { bytes, concat, enc, feedSplits } from "./_helpers.ts";

const dec = new TextDecoder();

const LIMITS: ChunkedLimits = {
  maxBodySize: 1 << 20,
  maxChunkLineSize: 4096,
  maxHeadSize: 16384,
  maxHeaders: 100,
};

interface Decoded {
  body: string | null;
  trailers: [string, string][] | null;
  /** The error's class and message, or null. */
  error: string | null;
  /** What stayed in the buffer after the body. */
  rest: string;
}

/** Feeds `chunks` one by one to a fresh decoder until a body or an error. */
function decode(chunks: Uint8Array[], limits = LIMITS): Decoded {
  const rb = new ReadBuf({ bufferCapacity: 256 });
  const d = new ChunkedDecoder(limits);
  d.begin();
  const out: Decoded = { body: null, trailers: null, error: null, rest: "" };
  for (let i = 0; i < chunks.length; i++) {
    rb.push(chunks[i]);
    let body: Uint8Array | null;
    try {
      body = d.read(rb);
    } catch (err) {
      if (!(err instanceof HttpProtocolError)) throw err;
      out.error = `${err.name}: ${err.message}`;
      return out;
    }
    if (body !== null) {
      out.body = dec.decode(body);
      out.trailers = d.trailers ? [...d.trailers] : null;
      out.rest = dec.decode(concat([rb.data(), ...chunks.slice(i + 1)]));
      return out;
    }
  }
  return out;
}

/** Decodes `raw` whole, split in two at every byte and byte by byte. */
function decoded(raw: string | Uint8Array, limits = LIMITS): Decoded {
  const b = typeof raw === "string" ? enc.encode(raw) : raw;
  return feedSplits(b, (chunks) => decode(chunks, limits));
}

function refused(raw: string | Uint8Array, why: RegExp, limits = LIMITS) {
  const r = decoded(raw, limits);
  ok(r.error !== null, `expected a refusal, got ${JSON.stringify(r)}`);
  ok(why.test(r.error), r.error);
}

Deno.test("chunks are de-chunked into one body at every split", () => {
  deepStrictEqual(
    decoded("5\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\n\r\nNEXT"),
    { body: "hello 0123456789", trailers: null, error: null, rest: "NEXT" },
  );
  strictEqual(decoded("0\r\n\r\n").body, "");
  strictEqual(decoded("a\r\n0123456789\r\n0\r\n\r\n").body, "0123456789");
});

Deno.test("trailer fields are collected with the head's field rules", () => {
  deepStrictEqual(
    decoded("2\r\nok\r\n0\r\nX-Sum: 2 \r\nX-Other:\tyes\r\n\r\n"),
    {
      body: "ok",
      trailers: [["x-sum", "2"], ["x-other", "yes"]],
      error: null,
      rest: "",
    },
  );
  refused("0\r\nX-A: 1\r\n  more\r\n\r\n", /trailer field, got an obs-fold/);
  refused("0\r\nBad Name: x\r\n\r\n", /Expected a trailer field "name: value"/);
  refused("0\r\nX: a\x00b\r\n\r\n", /control bytes in trailer "x"/);
  refused("0\r\nA: 1\r\nB: 2\r\n\r\n", /at most 1 trailer fields/, {
    ...LIMITS,
    maxHeaders: 1,
  });
});

Deno.test("chunk extensions that follow the RFC 9112 grammar are accepted", () => {
  for (
    const ext of [
      ";a",
      ";a=1",
      ";a=1;b",
      " ; a = 1 ; b",
      "\t;\ta\t=\t1",
      ';name="value"',
      ';q="a;b, c"',
      ';q=""',
      ';q="escaped \\" quote"',
      ';q="\\\\"',
      ";t=!#$%&'*+-.^_`|~",
    ]
  ) {
    const r = decoded(`3${ext}\r\nabc\r\n0${ext}\r\n\r\n`);
    deepStrictEqual(r.error, null, `${ext}: ${r.error}`);
    strictEqual(r.body, "abc", ext);
  }
  const obsText = bytes('3;q="', 0xe9, 0xff, '"\r\nabc\r\n0\r\n\r\n');
  strictEqual(decoded(obsText).body, "abc");
});

Deno.test("whitespace after a chunk size with no extension after it is refused", () => {
  for (const line of ["5 ", "5\t", "5  \t", "5;a ", "5;a=1 ", '5;a="b" ']) {
    refused(
      `${line}\r\nhello\r\n0\r\n\r\n`,
      /Expected a chunk extension after whitespace, got/,
    );
  }
  // the same after the last chunk
  refused("0 \r\n\r\n", /chunk extension after whitespace/);
});

Deno.test("a semicolon with no extension name is refused", () => {
  for (const line of ["5;", "5; ", "5;=x", "5;;a", "5;a;", '5;"q"', "5;@"]) {
    refused(
      `${line}\r\nhello\r\n0\r\n\r\n`,
      /Expected a chunk extension name after ";", got/,
    );
  }
});

Deno.test("an unclosed quoted extension value is refused", () => {
  for (const line of ['5;a="x', '5;a="', '5;a="x\\"', '5;a="x\\']) {
    refused(
      `${line}\r\nhello\r\n0\r\n\r\n`,
      /Expected a closing quote in a chunk extension value, got/,
    );
  }
});

Deno.test("an extension value that is neither a token nor a quoted string is refused", () => {
  refused("5;a=\r\nhello\r\n0\r\n\r\n", /chunk extension value after "="/);
  refused("5;a=@\r\nhello\r\n0\r\n\r\n", /chunk extension value after "="/);
  refused("5;a=b c\r\nhello\r\n0\r\n\r\n", /";" before a chunk extension/);
  refused('5;a="b"c\r\nhello\r\n0\r\n\r\n', /";" before a chunk extension/);
  refused(bytes("5;a=\x01\r\nhello\r\n0\r\n\r\n"), /control bytes/);
  refused(bytes("5;a=", 0xe9, "\r\nhello\r\n0\r\n\r\n"), /after "="/);
});

Deno.test("bad chunk sizes and framing are refused at every split", () => {
  for (const line of ["zz", "", "-1", "0x5", " 5", "5 x", "+5", "g"]) {
    refused(`${line}\r\nhello\r\n0\r\n\r\n`, /Expected a chunk size in hex/);
  }
  refused("ffffffffffffffffff\r\n", /Expected a chunk size below 2\^49/);
  refused("5\r\nhelloX\r\n0\r\n\r\n", /Expected CRLF after the chunk data/);
  refused("5\nhello\r\n0\r\n\r\n", /bare LF in the chunk-size line/);
  refused("5\rxhello\r\n0\r\n\r\n", /bare CR in the chunk-size line/);
  refused("0\r\nX-A: 1\n\r\n", /bare LF in the trailers/);
});

Deno.test("the chunk limits are enforced at every split", () => {
  const small = { ...LIMITS, maxBodySize: 8, maxChunkLineSize: 8 };
  refused(
    "5\r\nhello\r\n4\r\n",
    /at most 8 bytes, got a chunk of 4 bytes after 5/,
    small,
  );
  refused("5;aaaaaaa\r\nhello\r\n", /chunk-size line within 8 bytes/, small);
  refused(`0\r\nX: ${"t".repeat(40)}\r\n\r\n`, /trailers within 32 bytes/, {
    ...LIMITS,
    maxHeadSize: 32,
  });
});

Deno.test("missing says what a cut-short body lacks", () => {
  const cases: [string, string][] = [
    ["5\r\nhe", "3 more bytes of chunk data"],
    ["5\r\nhello\r\n0\r\n", "the end of the chunked trailers"],
    ["5", "the rest of the chunked body"],
    ["5\r\nhello", "the rest of the chunked body"],
  ];
  for (const [raw, missing] of cases) {
    const rb = new ReadBuf();
    const d = new ChunkedDecoder(LIMITS);
    d.begin();
    rb.push(enc.encode(raw));
    strictEqual(d.read(rb), null);
    strictEqual(d.missing, missing, raw);
  }
});

Deno.test("parseChunkSize reads the size before any extension", () => {
  const size = (s: string) => parseChunkSize(enc.encode(s), 0, s.length);
  strictEqual(size("0"), 0);
  strictEqual(size("fF"), 255);
  strictEqual(size("1a;x=1"), 26);
  strictEqual(size("10 ; x"), 16);
});
