import assert from "node:assert/strict";
import { retryAfter } from "../../src/codec/mod.ts";

const NOW = Date.parse("Sun, 06 Nov 1994 08:49:30 GMT");

Deno.test("Retry-After delay-seconds are read as whole seconds", () => {
  assert.equal(retryAfter("0", NOW), 0);
  assert.equal(retryAfter("1", NOW), 1000);
  assert.equal(retryAfter(" 120 ", NOW), 120_000);
});

Deno.test("Retry-After HTTP-dates in all three forms count from now, never below 0", () => {
  assert.equal(retryAfter("Sun, 06 Nov 1994 08:49:37 GMT", NOW), 7000);
  assert.equal(retryAfter("Sunday, 06-Nov-94 08:49:37 GMT", NOW), 7000);
  assert.equal(retryAfter("Sun Nov  6 08:49:37 1994", NOW), 7000); // asctime is GMT
  assert.equal(retryAfter("Sun, 06 Nov 1994 08:00:00 GMT", NOW), 0);
});

Deno.test("Retry-After values that are neither form are null, to be ignored", () => {
  for (
    const v of [
      "",
      "soon",
      "-1",
      "1.5",
      "1e3",
      "0x10",
      "Mon, 99 Foo 1994",
      "99999999999999999999",
    ]
  ) {
    assert.equal(retryAfter(v, NOW), null, JSON.stringify(v));
  }
});
