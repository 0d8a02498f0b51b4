import assert from "node:assert/strict";
import {
  HeadReader,
  HttpLimitError,
  HttpProtocolError,
  ReadBuf,
  type ResponseLimits,
  type ResponseMessage,
  ResponseReader,
} from "../../src/codec/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Parsed {
  status: number;
  reason: string;
  minorVersion: number;
  headers: [string, string][];
  body: string;
  trailers: [string, string][] | null;
  keepAlive: boolean;
  leftover: number;
}

function snapshot(m: ResponseMessage, rb: ReadBuf): Parsed {
  return {
    status: m.status,
    reason: m.reason,
    minorVersion: m.minorVersion,
    headers: [...m.headers],
    body: dec.decode(m.body),
    trailers: m.trailers ? [...m.trailers] : null,
    keepAlive: m.keepAlive,
    leftover: rb.length,
  };
}

interface FeedOptions {
  method?: string;
  limits?: ResponseLimits;
  capacity?: number;
  /** Feed an end of stream after the bytes. */
  eof?: boolean;
}

/** Feeds `pieces` one by one, reading after each; returns the response. */
function feed(pieces: Uint8Array[], options: FeedOptions = {}): Parsed {
  const rb = new ReadBuf({ bufferCapacity: options.capacity ?? 65536 });
  const reader = new ResponseReader(options.limits);
  reader.begin(options.method ?? "GET");
  const finish = (m: ResponseMessage, rest: Uint8Array[]): Parsed => {
    const snap = snapshot(m, rb);
    for (const r of rest) rb.push(r); // what follows the response stays buffered
    snap.leftover = rb.length;
    return snap;
  };
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i];
    // Copy through spare()/commit() the way a socket read would, in as
    // many reads as the free room needs.
    let off = 0;
    do {
      const tail = rb.spare();
      assert.ok(tail.length > 0, "reader left no room to read into");
      const n = Math.min(tail.length, p.length - off);
      tail.set(p.subarray(off, off + n));
      rb.commit(n);
      off += n;
      const m = reader.read(rb);
      if (m !== null) {
        return finish(m, [p.subarray(off), ...pieces.slice(i + 1)]);
      }
    } while (off < p.length);
  }
  if (options.eof) return snapshot(reader.end(rb), rb);
  throw new Error("incomplete: the reader still wants more bytes");
}

/** Every way to split `bytes` in two, plus one byte at a time. */
function splits(bytes: Uint8Array): Uint8Array[][] {
  const out: Uint8Array[][] = [[bytes]];
  for (let k = 0; k <= bytes.length; k++) {
    out.push([bytes.subarray(0, k), bytes.subarray(k)]);
  }
  const ones: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) ones.push(bytes.subarray(i, i + 1));
  out.push(ones);
  return out;
}

/** Asserts every split of `raw` parses to `expected`. */
function vector(
  raw: string,
  expected: Partial<Parsed>,
  options: FeedOptions = {},
) {
  const bytes = enc.encode(raw);
  for (const pieces of splits(bytes)) {
    const got = feed(pieces, options);
    for (const [k, v] of Object.entries(expected)) {
      assert.deepEqual(
        got[k as keyof Parsed],
        v,
        `${k} for split ${pieces.map((p) => p.length).join("+")}`,
      );
    }
  }
}

/** Asserts every split of `raw` is refused with `cls` and a message matching `re`. */
function refused(
  raw: string | Uint8Array,
  re: RegExp,
  options: FeedOptions & { cls?: abstract new (...args: never[]) => Error } =
    {},
) {
  const bytes = typeof raw === "string" ? enc.encode(raw) : raw;
  const cls = options.cls ?? HttpProtocolError;
  for (const pieces of splits(bytes)) {
    assert.throws(
      () => feed(pieces, options),
      (err: unknown) => {
        assert.ok(err instanceof cls, `expected ${cls.name}, got ${err}`);
        assert.match((err as Error).message, re);
        return true;
      },
      `split ${pieces.map((p) => p.length).join("+")}`,
    );
  }
}

Deno.test("a Content-Length response parses the same at every split", () => {
  vector(
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world",
    {
      status: 200,
      reason: "OK",
      minorVersion: 1,
      headers: [["content-type", "text/plain"], ["content-length", "11"]],
      body: "hello world",
      trailers: null,
      keepAlive: true,
      leftover: 0,
    },
  );
});

Deno.test("a chunked body with extensions and trailers parses the same at every split", () => {
  vector(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;name=value\r\nhello\r\n" +
      '1 ; quoted="a;b"\r\n \r\n' +
      "A\r\n0123456789\r\n" +
      "0;last\r\nX-Checksum: abc\r\nX-Count:  3 \r\n\r\n",
    {
      status: 200,
      body: "hello 0123456789",
      trailers: [["x-checksum", "abc"], ["x-count", "3"]],
      keepAlive: true,
      leftover: 0,
    },
  );
});

Deno.test("many one-byte chunks are de-chunked into one contiguous body", () => {
  const n = 3000;
  let raw = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
  let body = "";
  for (let i = 0; i < n; i++) {
    const c = String.fromCharCode(97 + (i % 26));
    raw += `1\r\n${c}\r\n`;
    body += c;
  }
  raw += "0\r\n\r\n";
  const bytes = enc.encode(raw);
  // A small buffer: the raw framing is 6x the body, de-chunking in place keeps it bounded.
  for (const size of [1, 7, 100, 4096, bytes.length]) {
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += size) {
      pieces.push(bytes.subarray(i, i + size));
    }
    const got = feed(pieces, { capacity: 4096 });
    assert.equal(got.body, body);
    assert.equal(got.trailers, null);
  }
});

Deno.test("a chunked body larger than the buffer grows it within maxBodySize", () => {
  const big = "x".repeat(100_000);
  const raw = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" +
    `${big.length.toString(16)}\r\n${big}\r\n5\r\nhello\r\n0\r\n\r\n`;
  const bytes = enc.encode(raw);
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 1000) {
    pieces.push(bytes.subarray(i, i + 1000));
  }
  const got = feed(pieces, { capacity: 1024 });
  assert.equal(got.body.length, 100_005);
  assert.ok(got.body.endsWith("xhello"));
});

Deno.test("a Content-Length body larger than the buffer is read whole", () => {
  const big = "y".repeat(300_000);
  const bytes = enc.encode(
    `HTTP/1.1 200 OK\r\ncontent-length: ${big.length}\r\n\r\n${big}`,
  );
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 65536) {
    pieces.push(bytes.subarray(i, i + 65536));
  }
  assert.equal(feed(pieces, { capacity: 4096 }).body, big);
});

Deno.test("a response to HEAD has no body even with a Content-Length", () => {
  vector("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", {
    body: "",
    keepAlive: true,
    leftover: 0,
  }, { method: "HEAD" });
});

Deno.test("204 and 304 responses have no body", () => {
  vector("HTTP/1.1 204 No Content\r\n\r\n", {
    status: 204,
    body: "",
    leftover: 0,
  });
  vector(
    'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 50\r\n\r\n',
    {
      status: 304,
      body: "",
      leftover: 0,
    },
  );
});

Deno.test("interim 1xx responses are skipped and the final response is returned", () => {
  vector(
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" +
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
    {
      status: 201,
      reason: "Created",
      headers: [["content-length", "2"]],
      body: "ok",
    },
  );
});

Deno.test("empty lines before a status line are skipped: a 100 Continue, a blank line and a 404 are one exchange", () => {
  vector(
    "HTTP/1.1 100 Continue\r\n\r\n\r\nHTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nno",
    { status: 404, reason: "Not Found", body: "no", leftover: 0 },
  );
  vector(
    "\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
    { status: 200, body: "", leftover: 0 },
  );
  refused(
    "HTTP/1.1 100 Continue\r\n\r\n" + "\r\n".repeat(9) +
      "HTTP/1.1 200 OK\r\n\r\n",
    /more than 8 empty lines/,
  );
});

Deno.test("a body without framing runs to the end of the stream and ends keep-alive", () => {
  vector("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", {
    body: "until the end",
    keepAlive: false,
  }, { eof: true });
  vector("HTTP/1.0 200 OK\r\n\r\nold", {
    minorVersion: 0,
    body: "old",
    keepAlive: false,
  }, { eof: true });
});

Deno.test("HTTP/1.0 keeps the connection only with Connection: keep-alive", () => {
  vector(
    "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\na",
    {
      keepAlive: true,
    },
  );
  vector("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\na", { keepAlive: false });
});

Deno.test("Connection: close in an HTTP/1.1 response ends keep-alive", () => {
  vector(
    "HTTP/1.1 200 OK\r\nConnection: upgrade, Close\r\nContent-Length: 1\r\n\r\na",
    {
      keepAlive: false,
      body: "a",
    },
  );
});

Deno.test("repeated identical Content-Length values are accepted", () => {
  vector(
    "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
    {
      body: "abc",
    },
  );
});

Deno.test("bytes after a complete response stay in the buffer for the caller", () => {
  vector("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1", {
    body: "a",
    leftover: 8,
  });
});

Deno.test("a reader reads consecutive responses from one buffer", () => {
  const rb = new ReadBuf();
  const reader = new ResponseReader();
  rb.push(enc.encode(
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none" +
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n",
  ));
  reader.begin("GET");
  assert.equal(dec.decode(reader.read(rb)!.body), "one");
  reader.begin("GET");
  assert.equal(dec.decode(reader.read(rb)!.body), "two");
  assert.equal(rb.length, 0);
});

Deno.test("read() before begin() is refused with a TypeError", () => {
  assert.throws(() => new ResponseReader().read(new ReadBuf()), TypeError);
});

Deno.test("bad limits are refused with a RangeError", () => {
  assert.throws(() => new ResponseReader({ maxBodySize: -1 }), RangeError);
  assert.throws(() => new ResponseReader({ maxHeadSize: 1.5 }), RangeError);
  assert.throws(() => new HeadReader({ maxHeadSize: 8 }), RangeError);
});

Deno.test("an unknown limit or one of the wrong type is a TypeError naming it", () => {
  assert.throws(
    () => new ResponseReader({ maxMessageSize: 1 } as never),
    /Expected only known ResponseReader options, got unknown option "maxMessageSize"/,
  );
  assert.throws(
    () => new ResponseReader({ maxBodySize: "1024" } as never),
    /Expected option "ResponseReader.maxBodySize" to be a number, got a string/,
  );
  assert.throws(
    () => new HeadReader({ maxHeaders: null } as never),
    /Expected option "HeadReader.maxHeaders" to be a number, got null/,
  );
  assert.throws(
    () => new HeadReader({ maxBodySize: 1 } as never),
    /unknown option "maxBodySize"/,
  );
});

// ---- refusals: what smuggling is made of ----

Deno.test("both Content-Length and Transfer-Encoding are refused", () => {
  refused(
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    /Expected Content-Length or Transfer-Encoding, got both/,
  );
  refused(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n",
    /got both/,
    { method: "HEAD" },
  );
});

Deno.test("differing Content-Length values are refused", () => {
  refused(
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    /differing values "5, 6"/,
  );
  refused("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello", /differing/);
});

Deno.test("a Content-Length that is not plain decimal digits is refused", () => {
  for (const v of ["+5", "-1", "5 5", "0x10", "5.0", "", "1234567890123456"]) {
    refused(
      `HTTP/1.1 200 OK\r\nContent-Length: ${v}\r\n\r\n`,
      /Expected a Content-Length/,
    );
  }
});

Deno.test("transfer codings other than chunked alone are refused", () => {
  for (
    const v of ["gzip, chunked", "chunked, chunked", "identity", "chunked;q=1"]
  ) {
    refused(
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: ${v}\r\n\r\n0\r\n\r\n`,
      /Expected Transfer-Encoding "chunked", got/,
    );
  }
});

Deno.test("Transfer-Encoding in an HTTP/1.0 response is refused", () => {
  refused(
    "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    /Expected no Transfer-Encoding in an HTTP\/1.0 response/,
  );
});

Deno.test("bad chunk sizes are refused", () => {
  const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const line of ["zz", "", "-1", "0x5", " 5", "5 x", "+5", "g"]) {
    refused(
      `${head}${line}\r\nhello\r\n0\r\n\r\n`,
      /Expected a chunk size in hex/,
    );
  }
  refused(`${head}ffffffffffffffffff\r\n`, /Expected a chunk size below/);
});

Deno.test("chunk extensions off the RFC 9112 grammar are refused: trailing whitespace, a bare semicolon, an unclosed quote", () => {
  const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  refused(`${head}5 \r\nhello\r\n0\r\n\r\n`, /after whitespace/);
  refused(`${head}5\t\r\nhello\r\n0\r\n\r\n`, /after whitespace/);
  refused(`${head}5\r\nhello\r\n0 \r\n\r\n`, /after whitespace/);
  refused(`${head}5;\r\nhello\r\n0\r\n\r\n`, /extension name after ";"/);
  refused(`${head}5; =1\r\nhello\r\n0\r\n\r\n`, /extension name/);
  refused(
    `${head}5;a="open\r\nhello\r\n0\r\n\r\n`,
    /closing quote in a chunk extension value/,
  );
});

Deno.test("chunk data not followed by CRLF is refused", () => {
  const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  refused(
    `${head}5\r\nhelloX\r\n0\r\n\r\n`,
    /Expected CRLF after the chunk data/,
  );
  refused(
    `${head}5\r\nhello\rX0\r\n\r\n`,
    /Expected CRLF after the chunk data/,
  );
  refused(`${head}5\r\nhello\n0\r\n\r\n`, /Expected CRLF after the chunk data/);
});

Deno.test("a bare LF or CR in chunk framing is refused", () => {
  const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  refused(`${head}5\nhello\r\n0\r\n\r\n`, /bare LF in the chunk-size line/);
  refused(`${head}5\rxhello\r\n0\r\n\r\n`, /bare CR in the chunk-size line/);
  refused(`${head}0\r\nX-A: 1\n\r\n`, /bare LF in the trailers/);
  refused(
    `${head}5;a=\x01\r\nhello\r\n0\r\n\r\n`,
    /control bytes in a chunk extension/,
  );
});

Deno.test("obs-fold is refused in the head and in the trailers", () => {
  refused(
    "HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n",
    /obs-fold/,
  );
  refused(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: 1\r\n\tmore\r\n\r\n",
    /Expected a trailer field, got an obs-fold continuation line/,
  );
});

Deno.test("bare CR, bare LF and NUL in the head are refused", () => {
  refused(
    "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",
    /bare CR/,
  );
  refused("HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 0\r\n\r\n", /bare LF/);
  refused(
    "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n",
    /control bytes in header "x-a", got 0x00/i,
  );
});

Deno.test("a malformed status line or header name is refused", () => {
  refused("HTTP/2 200 OK\r\n\r\n", /Expected a status line/);
  refused("HTTP/1.1 20 OK\r\n\r\n", /Expected a status line/);
  refused(
    "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
    /Expected a header field "name: value"/,
  );
  refused(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Name: x\r\n\r\n",
    /Expected a trailer field "name: value"/,
  );
});

Deno.test("an unrequested 101 Switching Protocols is refused", () => {
  refused(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
    /got 101 Switching Protocols/,
  );
});

// ---- limits ----

Deno.test("a head over maxHeadSize is refused with HttpLimitError", () => {
  refused(
    `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(300)}\r\n\r\n`,
    /within 256 bytes/,
    {
      limits: { maxHeadSize: 256 },
      cls: HttpLimitError,
    },
  );
});

Deno.test("more header fields than maxHeaders are refused with HttpLimitError", () => {
  let raw = "HTTP/1.1 200 OK\r\n";
  for (let i = 0; i < 5; i++) raw += `X-${i}: v\r\n`;
  refused(raw + "\r\n", /at most 4 header fields/, {
    limits: { maxHeaders: 4 },
    cls: HttpLimitError,
  });
  let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  for (let i = 0; i < 5; i++) chunked += `X-${i}: v\r\n`;
  refused(chunked + "\r\n", /at most 4 trailer fields/, {
    limits: { maxHeaders: 4 },
    cls: HttpLimitError,
  });
});

Deno.test("a body over maxBodySize is refused with HttpLimitError however it is framed", () => {
  const limits = { maxBodySize: 10 };
  for (
    const raw of [
      "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n",
      "HTTP/1.1 200 OK\r\n\r\n01234567890",
    ]
  ) {
    refused(raw, /Expected a body of at most 10 bytes/, {
      limits,
      cls: HttpLimitError,
      eof: true,
    });
  }
});

Deno.test("the limit error names the limit and its value", () => {
  try {
    feed([enc.encode("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")], {
      limits: { maxBodySize: 10 },
    });
    assert.fail("not refused");
  } catch (err) {
    assert.ok(err instanceof HttpLimitError);
    assert.equal(err.limit, "maxBodySize");
    assert.equal(err.max, 10);
  }
});

Deno.test("a chunk-size line over maxChunkLineSize is refused with HttpLimitError", () => {
  refused(
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;${
      "e".repeat(100)
    }\r\nhello\r\n0\r\n\r\n`,
    /chunk-size line within 64 bytes/,
    { limits: { maxChunkLineSize: 64 }, cls: HttpLimitError },
  );
});

Deno.test("trailers over maxHeadSize are refused with HttpLimitError", () => {
  refused(
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: ${
      "t".repeat(300)
    }\r\n\r\n`,
    /trailers within 256 bytes/,
    { limits: { maxHeadSize: 256 }, cls: HttpLimitError },
  );
});

// ---- end of stream ----

Deno.test("an end of stream inside a response says what was cut short", () => {
  const cases: [string, RegExp][] = [
    ["", /Expected a response, got end of stream/],
    [
      "HTTP/1.1 200 OK\r\nContent-",
      /Expected the rest of the response head \(25 bytes so far\)/,
    ],
    [
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
      /Expected 7 more body bytes, got end of stream/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe",
      /Expected 3 more bytes of chunk data/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
      /end of the chunked trailers/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5",
      /rest of the chunked body/,
    ],
  ];
  for (const [raw, re] of cases) {
    const rb = new ReadBuf();
    const reader = new ResponseReader();
    reader.begin("GET");
    rb.push(enc.encode(raw));
    if (raw.length > 0) assert.equal(reader.read(rb), null);
    assert.throws(() => reader.end(rb), (err: unknown) => {
      assert.ok(err instanceof HttpProtocolError);
      assert.match((err as Error).message, re);
      return true;
    });
  }
});

Deno.test("awaitingHead tells a connection closed before answering from a truncated one", () => {
  const rb = new ReadBuf();
  const reader = new ResponseReader();
  reader.begin("GET");
  assert.equal(reader.read(rb), null);
  assert.equal(reader.awaitingHead, true);
  rb.push(enc.encode("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"));
  assert.equal(reader.read(rb), null);
  assert.equal(reader.awaitingHead, false);
});

Deno.test("de-chunking in place keeps a small buffer from growing for tiny chunks", () => {
  let raw = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
  for (let i = 0; i < 3000; i++) raw += "1\r\nz\r\n";
  const bytes = enc.encode(raw + "0\r\n\r\n");
  const rb = new ReadBuf({ bufferCapacity: 4096 });
  const reader = new ResponseReader();
  reader.begin("GET");
  let msg: ResponseMessage | null = null;
  for (let off = 0; msg === null; off += 512) {
    rb.push(bytes.subarray(off, off + 512));
    msg = reader.read(rb);
  }
  assert.equal(msg.body.length, 3000);
  assert.ok(msg.body.every((b) => b === 122));
  assert.equal(rb.capacity, 4096);
});
