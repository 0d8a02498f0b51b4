/**
 * The UTF-8 decoder stress sequences of cases 6.5 to 6.23: Markus Kuhn's
 * "UTF-8 decoder capability and stress test" (sections 1 to 5), with the
 * extra groups and the exact order Autobahn|Testsuite generates them in.
 * Each group becomes one subcategory (6.5, 6.6, ...) and each sequence one
 * case (6.5.1, 6.5.2, ...).
 *
 * @module
 */

import { bytes, isValidUtf8 } from "./wire.ts";

/** One group of sequences: a title and `[valid, octets]` pairs. */
export interface Utf8Group {
  title: string;
  sequences: Array<[boolean, Uint8Array]>;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}

/** The groups of cases 6.5 (index 0) to 6.23 (index 18). */
export function utf8Groups(): Utf8Group[] {
  const groups: Utf8Group[] = [];
  const add = (title: string, seqs: Array<[boolean, string | Uint8Array]>) =>
    groups.push({
      title,
      sequences: seqs.map((
        [ok, s],
      ) => [ok, typeof s === "string" ? bytes(s) : s]),
    });

  // 1: some correct UTF-8 text ("κόσμε" and single code points of each length).
  const kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
  add("Some valid UTF-8 sequences", [
    [true, "hello\x24world"],
    [true, "hello\xc2\xa2world"],
    [true, "hello\xe2\x82\xacworld"],
    [true, "hello\xf0\xa4\xad\xa2world"],
    [true, kosme],
  ]);

  // Every prefix of "κόσμε": valid exactly when it ends on a code point boundary.
  add(
    "All prefixes of a valid UTF-8 string that contains multi-byte code points",
    range(1, kosme.length + 1).map((i) => {
      const prefix = bytes(kosme.slice(0, i));
      return [isValidUtf8(prefix), prefix];
    }),
  );

  // 2.1 first possible sequence of a certain length.
  add("First possible sequence of a certain length", [
    [true, "\x00"],
    [true, "\xc2\x80"],
    [true, "\xe0\xa0\x80"],
    [true, "\xf0\x90\x80\x80"],
  ]);
  // Valid in the integer encoding scheme, but beyond U+10FFFF.
  add("First possible sequence length 5/6 (invalid codepoints)", [
    [false, "\xf8\x88\x80\x80\x80"],
    [false, "\xfc\x84\x80\x80\x80\x80"],
  ]);

  // 2.2 last possible sequence of a certain length.
  add("Last possible sequence of a certain length", [
    [true, "\x7f"],
    [true, "\xdf\xbf"],
    [true, "\xef\xbf\xbf"],
    [true, "\xf4\x8f\xbf\xbf"],
  ]);
  add("Last possible sequence length 4/5/6 (invalid codepoints)", [
    [false, "\xf7\xbf\xbf\xbf"],
    [false, "\xfb\xbf\xbf\xbf\xbf"],
    [false, "\xfd\xbf\xbf\xbf\xbf\xbf"],
  ]);

  // 2.3 other boundary conditions.
  add("Other boundary conditions", [
    [true, "\xed\x9f\xbf"],
    [true, "\xee\x80\x80"],
    [true, "\xef\xbf\xbd"],
    [true, "\xf4\x8f\xbf\xbf"],
    [false, "\xf4\x90\x80\x80"],
  ]);

  // 3.1 unexpected continuation bytes.
  add("Unexpected continuation bytes", [
    [false, "\x80"],
    [false, "\xbf"],
    [false, "\x80\xbf"],
    [false, "\x80\xbf\x80"],
    [false, "\x80\xbf\x80\xbf"],
    [false, "\x80\xbf\x80\xbf\x80"],
    [false, "\x80\xbf\x80\xbf\x80\xbf"],
    [false, String.fromCharCode(...range(0x80, 0xbf))],
  ]);

  // 3.2 lonely start characters, each followed by a space.
  add(
    "Lonely start characters",
    ([[0xc0, 0xdf], [0xe0, 0xef], [0xf0, 0xf7], [0xf8, 0xfb], [
      0xfc,
      0xfd,
    ]] as const).map((
      [a, b],
    ) => [
      false,
      range(a, b).map((c) => String.fromCharCode(c) + " ").join(""),
    ]),
  );

  // 3.3 sequences with the last continuation byte missing.
  const missing = [
    "\xc0",
    "\xe0\x80",
    "\xf0\x80\x80",
    "\xf8\x80\x80\x80",
    "\xfc\x80\x80\x80\x80",
    "\xdf",
    "\xef\xbf",
    "\xf7\xbf\xbf",
    "\xfb\xbf\xbf\xbf",
    "\xfd\xbf\xbf\xbf\xbf",
  ];
  add(
    "Sequences with last continuation byte missing",
    missing.map((s) => [false, s]),
  );

  // 3.4 concatenation of the incomplete sequences.
  add("Concatenation of incomplete sequences", [[false, missing.join("")]]);

  // 3.5 impossible bytes.
  add("Impossible bytes", [
    [false, "\xfe"],
    [false, "\xff"],
    [false, "\xfe\xfe\xff\xff"],
  ]);

  // 4.1 overlong ASCII "/".
  add("Examples of an overlong ASCII character", [
    [false, "\xc0\xaf"],
    [false, "\xe0\x80\xaf"],
    [false, "\xf0\x80\x80\xaf"],
    [false, "\xf8\x80\x80\x80\xaf"],
    [false, "\xfc\x80\x80\x80\x80\xaf"],
  ]);

  // 4.2 maximum overlong sequences.
  add("Maximum overlong sequences", [
    [false, "\xc1\xbf"],
    [false, "\xe0\x9f\xbf"],
    [false, "\xf0\x8f\xbf\xbf"],
    [false, "\xf8\x87\xbf\xbf\xbf"],
    [false, "\xfc\x83\xbf\xbf\xbf\xbf"],
  ]);

  // 4.3 overlong NUL.
  add("Overlong representation of the NUL character", [
    [false, "\xc0\x80"],
    [false, "\xe0\x80\x80"],
    [false, "\xf0\x80\x80\x80"],
    [false, "\xf8\x80\x80\x80\x80"],
    [false, "\xfc\x80\x80\x80\x80\x80"],
  ]);

  // 5.1 single UTF-16 surrogates.
  add("Single UTF-16 surrogates", [
    [false, "\xed\xa0\x80"],
    [false, "\xed\xad\xbf"],
    [false, "\xed\xae\x80"],
    [false, "\xed\xaf\xbf"],
    [false, "\xed\xb0\x80"],
    [false, "\xed\xbe\x80"],
    [false, "\xed\xbf\xbf"],
  ]);

  // 5.2 paired UTF-16 surrogates.
  add("Paired UTF-16 surrogates", [
    [false, "\xed\xa0\x80\xed\xb0\x80"],
    [false, "\xed\xa0\x80\xed\xbf\xbf"],
    [false, "\xed\xad\xbf\xed\xb0\x80"],
    [false, "\xed\xad\xbf\xed\xbf\xbf"],
    [false, "\xed\xae\x80\xed\xb0\x80"],
    [false, "\xed\xae\x80\xed\xbf\xbf"],
    [false, "\xed\xaf\xbf\xed\xb0\x80"],
    [false, "\xed\xaf\xbf\xed\xbf\xbf"],
  ]);

  // 5.3 non-characters: valid UTF-8 (RFC 3629), a decoder must accept them.
  const nonchars: Array<[boolean, string]> = [[true, "\xef\xbf\xbe"], [
    true,
    "\xef\xbf\xbf",
  ]];
  for (const z1 of ["\xf0", "\xf1", "\xf2", "\xf3", "\xf4"]) {
    for (const z2 of ["\x8f", "\x9f", "\xaf", "\xbf"]) {
      if (z1 === "\xf4" && z2 !== "\x8f") continue; // beyond U+10FFFF
      for (const z3 of ["\xbe", "\xbf"]) {
        const zz = z1 + z2 + "\xbf" + z3;
        if (zz === "\xf0\x8f\xbf\xbe" || zz === "\xf0\x8f\xbf\xbf") continue; // overlong
        nonchars.push([true, zz]);
      }
    }
  }
  add("Non-character code points (valid UTF-8)", nonchars);

  // Unicode "specials" block, including the replacement character.
  add("Unicode specials (i.e. replacement char)", [
    [true, "\xef\xbf\xb9"],
    [true, "\xef\xbf\xba"],
    [true, "\xef\xbf\xbb"],
    [true, "\xef\xbf\xbc"],
    [true, "\xef\xbf\xbd"],
    [true, "\xef\xbf\xbe"],
    [true, "\xef\xbf\xbf"],
  ]);

  return groups;
}
