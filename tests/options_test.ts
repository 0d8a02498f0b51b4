import assert from "node:assert/strict";
import {
  boolean,
  check,
  integer,
  literal,
  ms,
  nested,
  oneOf,
  pick,
  string,
  strings,
} from "../src/options.ts";

const RULES = {
  bufferCapacity: integer(256),
  autoPong: boolean,
  closeTimeout: ms,
  protocols: strings,
  mode: literal("fast", "safe"),
  origin: oneOf("a string or a URL", string, (v, n) => {
    if (!(v instanceof URL)) throw new TypeError(n);
  }),
  heartbeat: nested({ interval: ms, timeout: ms }),
};

Deno.test("no options and known options of the right type pass", () => {
  check(undefined, RULES, "connect()");
  check({}, RULES, "connect()");
  check(
    {
      bufferCapacity: 4096,
      autoPong: false,
      closeTimeout: 0,
      protocols: ["a"],
      mode: "safe",
      origin: new URL("http://x.test"),
      heartbeat: { interval: 5 },
    },
    RULES,
    "connect()",
  );
  check({ bufferCapacity: undefined }, RULES, "connect()");
});

Deno.test("an unknown option is a TypeError naming it, with the closest known name", () => {
  assert.throws(
    () => check({ bufferCapcity: 1 }, RULES, "connect()"),
    (e) =>
      e instanceof TypeError &&
      e.message ===
        'Expected only known connect() options, got unknown option "bufferCapcity" (did you mean "bufferCapacity"?)',
  );
  assert.throws(
    () => check({ zzz: 1 }, RULES, "connect()"),
    (e) => e instanceof TypeError && !e.message.includes("did you mean"),
  );
});

Deno.test("a wrong type is a TypeError naming the option and the type it got", () => {
  assert.throws(
    () => check({ bufferCapacity: "65536" }, RULES, "connect()"),
    (e) =>
      e instanceof TypeError &&
      e.message ===
        'Expected option "bufferCapacity" to be a number, got a string ("65536")',
  );
  assert.throws(
    () => check({ autoPong: 1 }, RULES, "connect()"),
    /Expected option "autoPong" to be a boolean, got the number 1/,
  );
  assert.throws(
    () => check({ protocols: ["a", 2] }, RULES, "connect()"),
    /"protocols\[1\]" to be a string, got the number 2/,
  );
  assert.throws(
    () => check({ mode: "slow" }, RULES, "connect()"),
    /"mode" to be "fast" or "safe"/,
  );
  assert.throws(
    () => check({ origin: 3 }, RULES, "connect()"),
    /"origin" to be a string or a URL/,
  );
  assert.throws(
    () => check(null, RULES, "connect()"),
    /options to be an object, got null/,
  );
  assert.throws(() => check(5, RULES, "connect()"), TypeError);
});

Deno.test("a value out of range is a RangeError", () => {
  assert.throws(
    () => check({ bufferCapacity: 10 }, RULES, "connect()"),
    (e) =>
      e instanceof RangeError &&
      /"bufferCapacity" to be an integer in \[256,/.test(e.message),
  );
  assert.throws(
    () => check({ bufferCapacity: 300.5 }, RULES, "connect()"),
    RangeError,
  );
  assert.throws(
    () => check({ closeTimeout: -1 }, RULES, "connect()"),
    RangeError,
  );
  assert.throws(
    () => check({ closeTimeout: NaN }, RULES, "connect()"),
    RangeError,
  );
});

Deno.test("nested options are checked with their own names", () => {
  assert.throws(
    () => check({ heartbeat: { intervall: 5 } }, RULES, "connect()"),
    /known heartbeat options, got unknown option "intervall" \(did you mean "interval"\?\)/,
  );
  assert.throws(
    () => check({ heartbeat: { interval: "5" } }, RULES, "connect()"),
    /"heartbeat\.interval" to be a number/,
  );
  assert.throws(
    () => check({ heartbeat: 5 }, RULES, "connect()"),
    /heartbeat options to be an object/,
  );
});

Deno.test("pick keeps only the named options that are set", () => {
  assert.deepEqual(
    pick({ bufferCapacity: 1, other: 2, autoPong: undefined }, {
      bufferCapacity: ms,
      autoPong: boolean,
    }),
    { bufferCapacity: 1 },
  );
});
