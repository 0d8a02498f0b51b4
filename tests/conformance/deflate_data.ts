/**
 * The payload sources of cases 12.x and 13.x. Autobahn cuts its messages out
 * of five files it ships (`testdata/`): a JSON report, the "Lena" bitmap,
 * Goethe's Faust I from Project Gutenberg, an HTML report and a PDF paper.
 * Those files are not ours to copy (two are third-party works), so the
 * harness generates stand-ins, deterministically, that keep what the cases
 * depend on: the exact length of each file (in octets, and in characters for
 * the two sent as text), whether it is sent as text or binary, its kind of
 * content and about how well it deflates.
 *
 * | Data set          | Sent as | Autobahn's file                | Octets (characters) | zlib ratio, Autobahn's / ours |
 * | ----------------- | ------- | ------------------------------ | ------------------- | ----------------------------- |
 * | `json_data1`      | text    | `data1.json` (a test report)   | 194056 (194056)     | 0.044 / 0.044                 |
 * | `lena512`         | binary  | `lena512.bmp` (512x512, 8 bit) | 263222              | 0.851 / 0.860                 |
 * | `gutenberg_faust` | binary  | `pg2229.txt` (German, UTF-8)   | 222218              | 0.389 / 0.384                 |
 * | `html_data1`      | text    | `data1.html` (a test report)   | 263647 (263620)     | 0.055 / 0.057                 |
 * | `ooms`            | binary  | `10.1.1.105.5439.pdf`          | 1042328             | 0.758 / 0.752                 |
 *
 * (zlib ratio: `zlib.compress` output over input, default level.) The bytes
 * differ from Autobahn's, so the compressed frames do too; message counts,
 * lengths, text or binary, and where each message starts in its source are
 * Autobahn's.
 *
 * @module
 */

/** One payload source. */
export interface TestData extends DataSetInfo {
  /** Autobahn's key for it. */
  key: DataKey;
  /** The content. */
  bytes: Uint8Array;
  /** The content as text (text data sets only; BMP characters only, so UTF-16 indices are characters). */
  text?: string;
}

/** A small deterministic generator (xorshift32): the same numbers on every machine. */
class Prng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 1;
  }
  /** An integer in [0, 2^32). */
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x >>> 0;
    return this.#s;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }
  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
  /** An index into `weights` with probability proportional to the weight. */
  weighted(cumulative: number[]): number {
    const r = this.below(cumulative[cumulative.length - 1]);
    let lo = 0, hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

const encoder = new TextEncoder();

/** `text` cut or padded with `pad` (ASCII) to exactly `chars` characters. */
function fitChars(text: string, chars: number, pad: string): string {
  if (text.length >= chars) return text.slice(0, chars);
  return text + pad.repeat(Math.ceil((chars - text.length) / pad.length))
    .slice(0, chars - text.length);
}

// ------------------------------------------------------------ JSON report

const AGENTS = [
  "nexus-ws/0.1.0",
  "ws/8.23.0",
  "Deno/2.9.6",
  "websockets/15.0",
  "aiohttp/3.11",
  "tornado/6.4",
  "libwebsockets/4.3",
  "ExampleClient/1.2",
];
const BEHAVIOURS = [
  "OK",
  "OK",
  "OK",
  "OK",
  "OK",
  "OK",
  "NON-STRICT",
  "INFORMATIONAL",
  "FAILED",
];
const CLOSE_CODES = ["1000", "1000", "1000", "1002", "1007", "1001", "null"];
/** Subcategory sizes of a run (category, subcategory, cases). */
const RUN_SHAPE: Array<[number, number, number]> = [
  [1, 1, 8],
  [1, 2, 8],
  [2, 0, 11],
  [3, 0, 7],
  [4, 1, 5],
  [4, 2, 5],
  [5, 0, 20],
  [6, 1, 3],
  [6, 2, 4],
  [6, 3, 2],
  [6, 4, 4],
  [6, 5, 5],
  [6, 6, 11],
  [6, 7, 4],
  [6, 8, 2],
  [6, 9, 4],
  [7, 1, 6],
  [7, 3, 6],
  [7, 5, 1],
  [7, 7, 13],
  [7, 9, 9],
  [9, 1, 6],
  [9, 2, 6],
  [9, 3, 9],
  [9, 4, 9],
  [9, 5, 6],
  [9, 6, 6],
  [9, 7, 6],
  [9, 8, 6],
  [10, 1, 1],
  [12, 1, 18],
  [12, 2, 18],
  [13, 1, 18],
  [13, 2, 18],
];

function jsonReport(): string {
  const rnd = new Prng(0x4a534f4e);
  const target = 194056;
  const agents: string[] = [];
  let size = 4;
  for (let round = 0; size < target; round++) {
    const agent = `${AGENTS[round % AGENTS.length]}${
      round >= AGENTS.length ? `-run${Math.floor(round / AGENTS.length)}` : ""
    }`;
    const slug = agent.toLowerCase().replace(/[^a-z0-9]+/g, "_");
    const cases: string[] = [];
    for (const [cat, sub, n] of RUN_SHAPE) {
      for (let i = 1; i <= n; i++) {
        const id = sub === 0 ? `${cat}.${i}` : `${cat}.${sub}.${i}`;
        const b = rnd.pick(BEHAVIOURS);
        const c = rnd.pick(BEHAVIOURS.slice(0, 7));
        const duration = cat === 9 || cat >= 12
          ? rnd.below(5000)
          : rnd.below(6);
        cases.push(
          `      "${id}": {\n` +
            `         "behavior": "${b}",\n` +
            `         "behaviorClose": "${c === "NON-STRICT" ? "OK" : c}",\n` +
            `         "duration": ${duration},\n` +
            `         "remoteCloseCode": ${rnd.pick(CLOSE_CODES)},\n` +
            `         "reportfile": "${slug}_case_${
              id.replaceAll(".", "_")
            }.json"\n` +
            `      }`,
        );
      }
    }
    const block = `   "${agent}": {\n${cases.join(",\n")}\n   }`;
    if (size + block.length + 2 > target && agents.length > 0) {
      // Keep the document valid: end it here and pad with whitespace.
      break;
    }
    agents.push(block);
    size += block.length + 2;
  }
  const body = `{\n${agents.join(",\n")}\n`;
  return fitChars(body, target - 2, " ") + "}\n";
}

// ------------------------------------------------------------ HTML report

/** 25 two-octet and one three-octet character: the count of non-ASCII characters in Autobahn's HTML file. */
const HTML_NOTE =
  '<p id="note">Gr\u00f6\u00dfen in Oktetten, Zeiten in \u00b5s \u2013 ' +
  "\u00e4\u00f6\u00fc\u00c4\u00d6\u00dc\u00df \u00e0\u00e1\u00e2\u00e7\u00e8" +
  "\u00e9\u00ea\u00eb\u00ee\u00ef\u00f4\u00fb \u00f1\u00bf\u00ff</p>\n";

const HTML_HEAD = `<!DOCTYPE html>
<html>
   <head>
      <meta charset="utf-8" />
      <title>WebSocket conformance report</title>
      <style lang="css">
body {
   background-color: #f6f6f6;
   color: #222;
   font-family: Verdana, Arial, sans-serif;
}
table.results {
   border-collapse: collapse;
   margin: 12px 24px;
}
td.case_ok { background-color: #0a0; color: #fff; }
td.case_non_strict { background-color: #9a0; color: #fff; }
td.case_failed { background-color: #900; color: #fff; }
td.case_info { background-color: #46a; color: #fff; }
td.close_ok { background-color: #0a0; color: #fff; }
td.close_unclean { background-color: #a60; color: #fff; }
p.case_desc, p.case_expect { margin: 4px 24px; color: #444; }
      </style>
   </head>
   <body>
`;

function htmlReport(): string {
  const rnd = new Prng(0x48544d4c);
  const chars = 263620;
  const grades: Array<[string, string]> = [
    ["case_ok", "Pass"],
    ["case_ok", "Pass"],
    ["case_ok", "Pass"],
    ["case_non_strict", "Non-Strict"],
    ["case_failed", "Fail"],
    ["case_info", "Info"],
  ];
  const parts = [HTML_HEAD, HTML_NOTE];
  let size = HTML_HEAD.length + HTML_NOTE.length;
  const tail = "      </table>\n   </body>\n</html>\n";
  parts.push('      <table class="results">\n');
  size += parts[parts.length - 1].length;
  for (let row = 0;; row++) {
    const [cat, sub, n] = RUN_SHAPE[row % RUN_SHAPE.length];
    const id = `${cat}.${sub}.${1 + (row % n)}`;
    const cells = AGENTS.map((agent) => {
      const [cls, label] = rnd.pick(grades);
      const ms = rnd.below(12);
      return `<td class="${cls}"><a href="${
        agent.toLowerCase().replace(/[^a-z0-9]+/g, "_")
      }_case_${
        id.replaceAll(".", "_")
      }.html">${label}</a><br/><span class="dur">${ms} ms</span></td>`;
    });
    const line = `         <tr><td class="case_id">Case ${id}</td>${
      cells.join("")
    }</tr>\n`;
    if (size + line.length + tail.length > chars) break;
    parts.push(line);
    size += line.length;
  }
  const body = parts.join("");
  return fitChars(body, chars - tail.length, " ") + tail;
}

// ------------------------------------------------------------ German text

const ONSETS = [
  "",
  "b",
  "d",
  "f",
  "g",
  "h",
  "k",
  "l",
  "m",
  "n",
  "r",
  "s",
  "t",
  "w",
  "z",
  "br",
  "fr",
  "gr",
  "kr",
  "tr",
  "st",
  "sch",
  "sp",
  "pf",
  "bl",
  "fl",
  "gl",
  "kl",
  "schw",
  "schl",
  "ch",
];
const VOWELS = [
  "a",
  "e",
  "i",
  "o",
  "u",
  "\u00e4",
  "\u00f6",
  "\u00fc",
  "ei",
  "au",
  "ie",
  "eu",
  "e",
  "e",
  "a",
];
const CODAS = [
  "",
  "",
  "n",
  "r",
  "s",
  "t",
  "ch",
  "ng",
  "nd",
  "rt",
  "st",
  "lt",
  "ll",
  "mm",
  "\u00df",
  "ck",
  "tz",
  "rn",
  "ht",
  "f",
];
const ENDINGS = ["", "", "en", "er", "e", "es", "em", "t", "te", "lich"];
const SPEAKERS = [
  "DER DICHTER",
  "DIE LUSTIGE PERSON",
  "DER DIREKTOR",
  "ERSTER GESELL",
  "ZWEITER GESELL",
  "DER ALTE",
  "DIE STIMME",
  "CHOR",
  "DER WANDRER",
];

function germanText(): Uint8Array {
  const rnd = new Prng(0x46415553);
  const word = () => {
    let w = "";
    const syllables = 1 + rnd.below(3);
    for (let s = 0; s < syllables; s++) {
      w += rnd.pick(ONSETS) + rnd.pick(VOWELS) + rnd.pick(CODAS);
    }
    return w + rnd.pick(ENDINGS);
  };
  // A vocabulary with Zipf-like frequencies, as in natural text.
  const vocab: string[] = [];
  for (let i = 0; i < 20000; i++) vocab.push(word());
  const cumulative: number[] = [];
  let total = 0;
  for (let i = 0; i < vocab.length; i++) {
    total += Math.round(1_000_000 / (i + 100));
    cumulative.push(total);
  }
  const target = 222218;
  const lines: string[] = [
    "\ufeffEin deutsches Versgedicht, zuf\u00e4llig erzeugt\n\n",
  ];
  let size = encoder.encode(lines[0]).length;
  while (size < target) {
    let line = "";
    if (rnd.below(9) === 0) {
      line = `\n${rnd.pick(SPEAKERS)}:\n`;
    } else {
      const n = 4 + rnd.below(6);
      const words: string[] = [];
      for (let i = 0; i < n; i++) words.push(vocab[rnd.weighted(cumulative)]);
      words[0] = words[0][0].toUpperCase() + words[0].slice(1);
      line = words.join(" ") + rnd.pick([",", ".", "!", ";", "", "", "?"]) +
        "\n";
    }
    lines.push(line);
    size += encoder.encode(line).length;
  }
  const bytes = encoder.encode(lines.join(""));
  // Cut at a character boundary, then fill with spaces to the exact length.
  let end = target;
  while ((bytes[end] & 0xc0) === 0x80) end--;
  const out = new Uint8Array(target).fill(0x20);
  out.set(bytes.subarray(0, end));
  return out;
}

// ------------------------------------------------------------ bitmap

function bitmap(): Uint8Array {
  const w = 512, h = 512, headers = 14 + 40 + 256 * 4;
  const out = new Uint8Array(headers + w * h);
  const v = new DataView(out.buffer);
  out.set([0x42, 0x4d]); // "BM"
  v.setUint32(2, out.length, true);
  v.setUint32(10, headers, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, w, true);
  v.setInt32(22, h, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 8, true);
  v.setUint32(34, w * h, true);
  v.setUint32(46, 256, true);
  for (let i = 0; i < 256; i++) out.set([i, i, i, 0], 54 + 4 * i);
  // A smooth scene with texture and sensor noise: deflates about as badly as
  // a photo. Only + - * / (no Math.sin): the same image on every machine.
  const rnd = new Prng(0x4c454e41);
  const tri = (v: number, period: number) =>
    Math.abs((((v % period) + period) % period) - period / 2) * 2 / period;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x - 300, dy = y - 240;
      const rings = tri((dx * dx + dy * dy) >> 6, 70);
      const g = 30 + 90 * tri(x + (tri(y, 106) * 60 | 0), 230) + 70 * rings +
        50 * tri(x + 2 * y, 69) + rnd.below(3);
      out[headers + y * w + x] = Math.min(255, g | 0);
    }
  }
  return out;
}

// ------------------------------------------------------------ PDF

function pdf(): Uint8Array {
  const rnd = new Prng(0x50444621);
  const target = 1042328;
  const out = new Uint8Array(target);
  let o = 0;
  const put = (s: string) => {
    const b = encoder.encode(s);
    out.set(b.subarray(0, target - o), o);
    o += Math.min(b.length, target - o);
  };
  const offsets: number[] = [];
  put("%PDF-1.2\n%\u00c7\u00ec\u008f\u00a2\n");
  for (let obj = 1; o < target - 4096; obj += 2) {
    offsets.push(o);
    // Streams hold compressed data in a real PDF: octets that do not deflate.
    const length = 4000 + rnd.below(12000);
    put(
      `${obj} 0 obj\n<</Length ${obj + 1} 0 R/Filter /FlateDecode>>\nstream\n`,
    );
    for (let i = 0; i < length && o < target; i++) out[o++] = rnd.below(256);
    put(`\nendstream\nendobj\n${obj + 1} 0 obj\n${length}\nendobj\n`);
    // Page and font dictionaries, and text: these do deflate.
    const words = 40 + rnd.below(160);
    let text = `${obj + 100000} 0 obj\n<</Type/Page/Parent 3 0 R/Resources` +
      `<</Font<</F1 5 0 R/F2 7 0 R>>/ProcSet[/PDF/Text]>>/MediaBox[0 0 612 792]` +
      `/Contents ${obj} 0 R>>\nendobj\n`;
    for (let i = 0; i < words; i++) {
      text += `BT /F${1 + rnd.below(2)} ${8 + rnd.below(6)} Tf ${
        72 + rnd.below(400)
      } ${100 + rnd.below(600)} Td (${
        rnd.pick(["the", "of", "and", "a", "model", "data", "is", "we"])
      }) Tj ET\n`;
    }
    put(text);
  }
  put("xref\n0 1\n0000000000 65535 f \n");
  for (let i = 0; o < target - 64; i++) {
    put(`${String(offsets[i % offsets.length]).padStart(10, "0")} 00000 n \n`);
  }
  put("trailer\n<</Size 4/Root 1 0 R>>\nstartxref\n0\n%%EOF\n");
  out.fill(0x0a, o);
  return out;
}

// ------------------------------------------------------------ the sets

/** What each data set is, known without generating it. */
export interface DataSetInfo {
  /** What Autobahn's file is, and what stands in for it here. */
  description: string;
  /** Sent as binary messages (else as text, cut by characters). */
  binary: boolean;
  /** Length in octets (Autobahn's file's). */
  octets: number;
}

/** The five data sets, by Autobahn's key. */
export const DATA_SETS = {
  json_data1: {
    description:
      "Large JSON data file (a generated test report standing in for Autobahn's data1.json)",
    binary: false,
    octets: 194056,
  },
  lena512: {
    description:
      "Picture, bitmap 512x512 8-bit grey (a generated image standing in for Autobahn's lena512.bmp)",
    binary: true,
    octets: 263222,
  },
  gutenberg_faust: {
    description:
      "Human readable German text, UTF-8 (generated verse standing in for Autobahn's pg2229.txt, Goethe's Faust I)",
    binary: true,
    octets: 222218,
  },
  html_data1: {
    description:
      "Large HTML file (a generated report page standing in for Autobahn's data1.html)",
    binary: false,
    octets: 263647,
  },
  ooms: {
    description:
      "A larger PDF (generated, mostly compressed streams, standing in for Autobahn's 10.1.1.105.5439.pdf)",
    binary: true,
    octets: 1042328,
  },
} as const satisfies Record<string, DataSetInfo>;

/** A data set's key. */
export type DataKey = keyof typeof DATA_SETS;

const GENERATORS: Record<DataKey, () => { bytes: Uint8Array; text?: string }> =
  {
    json_data1: () => {
      const text = jsonReport();
      return { bytes: encoder.encode(text), text };
    },
    lena512: () => ({ bytes: bitmap() }),
    gutenberg_faust: () => ({ bytes: germanText() }),
    html_data1: () => {
      const text = htmlReport();
      return { bytes: encoder.encode(text), text };
    },
    ooms: () => ({ bytes: pdf() }),
  };

/** Autobahn's order of the data sets in category 12 (12.1 to 12.5). */
export const DATA_KEYS: readonly DataKey[] = [
  "json_data1",
  "lena512",
  "gutenberg_faust",
  "html_data1",
  "ooms",
];

const cache = new Map<string, TestData>();

/** The data set `key`, generated on first use. */
export function testData(key: DataKey): TestData {
  let d = cache.get(key);
  if (!d) {
    d = { key, ...DATA_SETS[key], ...GENERATORS[key]() };
    cache.set(key, d);
  }
  return d;
}

/**
 * The `count`-th message's payload: Autobahn's `sendOne` takes `length`
 * units from a ring over the data (characters for text, octets for binary),
 * starting where the previous message ended. Returns the payload and where
 * the next one starts.
 */
export function nextSlice(
  data: TestData,
  from: number,
  length: number,
): { payload: Uint8Array; next: number } {
  if (data.text !== undefined) {
    const t = data.text;
    const to = (from + length) % t.length;
    const s = to > from ? t.slice(from, to) : t.slice(from) + t.slice(0, to);
    return { payload: encoder.encode(s), next: to };
  }
  const b = data.bytes;
  const to = (from + length) % b.length;
  if (to > from) return { payload: b.subarray(from, to), next: to };
  const out = new Uint8Array(b.length - from + to);
  out.set(b.subarray(from));
  out.set(b.subarray(0, to), b.length - from);
  return { payload: out, next: to };
}
