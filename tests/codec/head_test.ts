import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  FrameReader,
  HeaderList,
  HeadReader,
  HttpProtocolError,
  Opcode,
  ReadBuf,
} from "../../src/codec/mod.ts";
import {
  bytes,
  digest,
  enc,
  feedSplits,
  frame,
  type HeadResult,
  readHead,
  throwsA,
} from "./_helpers.ts";

function parse(text: string | Uint8Array, limits = {}): HeadResult {
  const b = typeof text === "string" ? enc.encode(text) : text;
  return feedSplits(b, (chunks) => readHead(chunks, limits));
}

function refused(text: string | Uint8Array, limits = {}, why?: RegExp) {
  const r = parse(text, limits);
  ok(
    r.error !== null,
    `expected HttpProtocolError, got ${JSON.stringify(r.head)}`,
  );
  if (why) ok(why.test(r.error), r.error);
  strictEqual(r.head, null);
}

function head(lines: string[]): string {
  return lines.join("\r\n") + "\r\n\r\n";
}

Deno.test("a response head is parsed: version, status, reason, headers in order", () => {
  const r = parse(head([
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "X-Empty:",
    "X-Ows: \t padded value \t",
    "Set-Cookie: a=1",
    "set-cookie: b=2",
  ]));
  deepStrictEqual(r, {
    head: {
      minorVersion: 1,
      status: 101,
      reason: "Switching Protocols",
      headers: [
        ["upgrade", "websocket"],
        ["connection", "Upgrade"],
        ["x-empty", ""],
        ["x-ows", "padded value"],
        ["set-cookie", "a=1"],
        ["set-cookie", "b=2"],
      ],
    },
    error: null,
    rest: "",
  });
});

Deno.test("a status line without a reason, and HTTP/1.0, are parsed", () => {
  deepStrictEqual(parse("HTTP/1.1 204\r\n\r\n").head, {
    minorVersion: 1,
    status: 204,
    reason: "",
    headers: [],
  });
  deepStrictEqual(parse("HTTP/1.0 200 OK\r\n\r\n").head?.minorVersion, 0);
  deepStrictEqual(parse("HTTP/1.1 200 \r\n\r\n").head?.reason, "");
  deepStrictEqual(
    parse(bytes("HTTP/1.1 404 Not\tFound ", 0xe9, "\r\n\r\n")).head?.reason,
    "Not\tFound \u00e9",
    "the reason is read as Latin-1",
  );
});

Deno.test("bytes after the head stay in the buffer", () => {
  const f = frame({ op: Opcode.Text, payload: "first frame" });
  const stream = bytes(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    f,
  );
  const r = parse(stream);
  strictEqual(r.head?.status, 101);
  strictEqual(r.rest, digest(f));

  const rb = new ReadBuf();
  rb.push(stream);
  ok(new HeadReader().read(rb));
  strictEqual(new FrameReader().next(rb), Opcode.Text);
});

Deno.test("an incomplete head returns null and consumes nothing", () => {
  const rb = new ReadBuf();
  const reader = new HeadReader();
  rb.push(enc.encode("HTTP/1.1 200 OK\r\nA: b\r\n\r"));
  strictEqual(reader.read(rb), null);
  strictEqual(rb.start, 0);
  strictEqual(rb.length, 24);
  rb.push(enc.encode("\n"));
  strictEqual(reader.read(rb)?.headers.get("a"), "b");
  strictEqual(rb.length, 0);
});

Deno.test("a reader reads the next head after reset", () => {
  const rb = new ReadBuf();
  const reader = new HeadReader();
  rb.push(enc.encode("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"));
  strictEqual(reader.read(rb)?.status, 100);
  reader.reset();
  strictEqual(reader.read(rb)?.status, 200);
});

Deno.test("a head of exactly maxHeadSize bytes is accepted, one byte more is refused", () => {
  const base = "HTTP/1.1 200 OK\r\nX-Pad: ";
  const at = (n: number) => base + "a".repeat(n - base.length - 4) + "\r\n\r\n";
  strictEqual(at(100).length, 100);
  strictEqual(parse(at(100), { maxHeadSize: 100 }).head?.status, 200);
  refused(at(101), { maxHeadSize: 100 }, /within 100 bytes/);
});

Deno.test("a head over maxHeadSize is refused before its end arrives", () => {
  const rb = new ReadBuf();
  const reader = new HeadReader({ maxHeadSize: 64 });
  rb.push(enc.encode("HTTP/1.1 200 OK\r\nX-Pad: " + "a".repeat(63)));
  throwsA(() => reader.read(rb), HttpProtocolError);
});

Deno.test("the default maxHeadSize is 16384 bytes", () => {
  const pad = (n: number) =>
    "HTTP/1.1 200 OK\r\nX: " + "a".repeat(n - 24) + "\r\n\r\n";
  strictEqual(parse(pad(16384)).head?.status, 200);
  refused(pad(16385));
});

Deno.test("more than maxHeaders fields are refused", () => {
  const fields = (n: number) =>
    head([
      "HTTP/1.1 200 OK",
      ...Array.from({ length: n }, (_, i) => `H${i}: v`),
    ]);
  strictEqual(parse(fields(3), { maxHeaders: 3 }).head?.headers.length, 3);
  refused(fields(4), { maxHeaders: 3 }, /at most 3/);
  strictEqual(parse(fields(100)).head?.headers.length, 100);
  refused(fields(101));
});

Deno.test("obs-fold continuation lines are refused", () => {
  refused(head(["HTTP/1.1 200 OK", "X-A: one", " two"]), {}, /obs-fold/);
  refused(head(["HTTP/1.1 200 OK", "X-A: one", "\ttwo"]), {}, /obs-fold/);
  refused(head(["HTTP/1.1 200 OK", " X-A: one"]), {}, /obs-fold/);
});

Deno.test("a bare CR or a bare LF anywhere in the head is refused", () => {
  refused("HTTP/1.1 200 OK\rX: y\r\n\r\n", {}, /bare CR/);
  refused("HTTP/1.1 200 OK\nX: y\r\n\r\n", {}, /bare LF/);
  refused("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", {}, /bare CR/);
  refused("HTTP/1.1 200 OK\r\nX: a\nb\r\n\r\n", {}, /bare LF/);
  refused("HTTP/1.1 200 OK\r\nX: a\r\r\n\r\n", {}, /bare CR/);
});

Deno.test("control bytes in a header value are refused; HTAB and obs-text are kept", () => {
  for (const c of [0x00, 0x01, 0x08, 0x0b, 0x0c, 0x1f, 0x7f]) {
    refused(bytes("HTTP/1.1 200 OK\r\nX: a", c, "b\r\n\r\n"), {}, /control/);
  }
  const r = parse(bytes("HTTP/1.1 200 OK\r\nX: a\tb", 0xe9, 0xff, "\r\n\r\n"));
  deepStrictEqual(r.head?.headers, [["x", "a\tb\u00e9\u00ff"]]);
});

Deno.test("malformed status lines are refused", () => {
  for (
    const line of [
      "HTTP/1.2 200 OK",
      "HTTP/2 200 OK",
      "HTTP/1.1 20 OK",
      "HTTP/1.1 2000 OK",
      "HTTP/1.1 200OK",
      "HTTP/1.1  200 OK",
      "http/1.1 200 OK",
      "ICY 200 OK",
      "HTTP/1.1 2x0 OK",
      "HTTP/1.1 200 O\x00K",
      "HTTP/1.1 200 O\x7fK",
    ]
  ) {
    refused(line + "\r\n\r\n", {}, /status line/);
  }
});

Deno.test("empty lines before the status line are skipped, up to 8 of them", () => {
  for (const n of [1, 2, 8]) {
    const r = parse(
      "\r\n".repeat(n) + "HTTP/1.1 404 Not Found\r\nX: y\r\n\r\n",
    );
    strictEqual(r.head?.status, 404);
    deepStrictEqual(r.head?.headers, [["x", "y"]]);
    strictEqual(r.rest, "");
  }
  refused(
    "\r\n".repeat(9) + "HTTP/1.1 200 OK\r\n\r\n",
    {},
    /Expected a status line, got more than 8 empty lines/,
  );
  refused("\r\r\nHTTP/1.1 200 OK\r\n\r\n", {}, /bare CR/);
  refused("\nHTTP/1.1 200 OK\r\n\r\n", {}, /status line/);
});

Deno.test("bytes that cannot begin a status line are refused as soon as they arrive", () => {
  // none of these ever ends a head: only the first bytes can refuse them
  const cases: [Uint8Array, RegExp][] = [
    // a TLS alert, as a TLS server answers plain HTTP
    [bytes(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32), /TLS record/],
    // a TLS ServerHello's record header
    [bytes(0x16, 0x03, 0x01, 0x00, 0x5a, 0x02), /TLS record.*https:/],
    // an HTTP/2 SETTINGS frame
    [bytes(0x00, 0x00, 0x12, 0x04, 0x00), /got "\\u0000"$/],
    [bytes(0), /got "\\u0000"$/],
    [enc.encode("GET / HTTP/1.1\r\nHost: x"), /got "G"$/],
    [enc.encode("HTTP/2 200\r\nx"), /got "HTTP\/2"$/],
    [enc.encode("HTTP/1.1 200OK and the rest"), /got "HTTP\/1.1 200O"$/],
    [enc.encode("HTTP/1.1 099 Low"), /got "HTTP\/1.1 0"$/],
    [enc.encode("<html><body>"), /got "<"$/],
  ];
  for (const [b, why] of cases) {
    refused(b, {}, /^Expected a status line "HTTP\/1.x NNN reason", got /);
    refused(b, {}, why);
  }
});

Deno.test("a head with bare-LF line ends is refused at its first LF, not at its end", () => {
  // no CRLF CRLF ever comes: an LF-only head must not wait for one
  refused(
    "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    {},
    /bare LF in the head/,
  );
  refused("HTTP/1.1 200 OK\r\nX: 1\nY: 2", {}, /bare LF in the head/);
  refused("HTTP/1.1 200\n", {}, /status line/);
  refused("HTTP/1.1 200 OK\rX-A", {}, /bare CR in the head/);
});

Deno.test("header lines that are not name: value are refused", () => {
  for (
    const line of [
      "Bad Name: x",
      ": x",
      "NoColon",
      "X\u00e9: y",
      "X\x01: y",
      "X : y",
    ]
  ) {
    refused(
      bytes(
        enc.encode("HTTP/1.1 200 OK\r\n"),
        Uint8Array.from(line, (c) => c.charCodeAt(0)),
        "\r\n\r\n",
      ),
    );
  }
});

Deno.test("a head larger than the read buffer is read, not stalled on a full buffer", () => {
  // a 300-byte head into a 256-byte buffer: the reader must make room
  // (or refuse), never leave a full buffer that no read can add to
  const text = head(["HTTP/1.1 200 OK", "X-Pad: " + "a".repeat(270)]);
  ok(text.length > 256);
  const r = readHead([enc.encode(text)], {}, { bufferCapacity: 256 });
  strictEqual(r.head?.status, 200);
});

Deno.test("HeaderList looks names up case-insensitively and joins repeats", () => {
  const h = new HeaderList();
  h.append("Vary", "a");
  h.append("VARY", "b");
  h.append("X", "1");
  strictEqual(h.get("vary"), "a, b");
  deepStrictEqual(h.getAll("Vary"), ["a", "b"]);
  strictEqual(h.get("missing"), null);
  ok(h.has("x") && !h.has("y"));
  strictEqual(h.size, 3);
  deepStrictEqual(h.toMap(), new Map([["vary", "a, b"], ["x", "1"]]));
});

Deno.test("a head larger than the buffer and than maxMessageSize gives a head or an HttpProtocolError, never a RangeError", () => {
  // found by the fuzzer: making room for the head asked the ReadBuf for more
  // than its growth bound (maxMessageSize + 14), which throws RangeError
  const text = head(["HTTP/1.1 200 OK", "X-Pad: " + "a".repeat(270)]);
  const rb = new ReadBuf({ bufferCapacity: 256, maxMessageSize: 0 });
  const reader = new HeadReader();
  const b = enc.encode(text);
  let off = 0;
  let result: unknown = null;
  try {
    while (result === null && off < b.length) {
      const tail = rb.spare();
      ok(tail.length > 0, "the buffer has room for the next read");
      const n = Math.min(tail.length, b.length - off);
      tail.set(b.subarray(off, off + n));
      rb.commit(n);
      off += n;
      result = reader.read(rb);
    }
  } catch (err) {
    ok(
      err instanceof HttpProtocolError,
      `got ${(err as Error).name}: ${(err as Error).message}`,
    );
    return;
  }
  strictEqual((result as { status: number }).status, 200);
});
