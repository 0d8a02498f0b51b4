/** The end event between the Worker and the main side: it always fits a record of the smallest ring. */
import assert from "node:assert/strict";
import { decodeEvent, encodeEnd } from "../../src/worker/protocol.ts";

Deno.test("an end event with unbounded strings is cut to fit a record, keeping the error's class and numbers", () => {
  const event = {
    type: "end" as const,
    code: 1006,
    reason: "\x01".repeat(123),
    error: {
      name: "NetworkError",
      message: "Expected ".repeat(1000),
      cause: "\n".repeat(1000),
      host: "h".repeat(253),
      port: 443,
    },
  };
  const bytes = encodeEnd(event, 504);
  assert.ok(bytes.length <= 504, `${bytes.length} bytes`);
  const back = decodeEvent(bytes, 0, bytes.length);
  assert.equal(back.type, "end");
  if (back.type !== "end") return;
  assert.equal(back.code, 1006);
  assert.equal(back.error?.name, "NetworkError");
  assert.equal(back.error?.port, 443);
  assert.ok(event.error.message.startsWith(back.error!.message));
  const small = {
    type: "end" as const,
    code: 1000,
    reason: "bye",
    error: null,
  };
  assert.deepEqual(
    decodeEvent(encodeEnd(small, 504), 0, encodeEnd(small, 504).length),
    small,
    "one that fits is whole",
  );
});
