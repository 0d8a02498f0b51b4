/**
 * Preloaded by `deno task test` for the JSDoc examples (`deno test --doc`):
 * makes `console.assert` throw, so an example whose assertion is false fails
 * the run instead of printing a line nobody reads.
 *
 * @module
 */
console.assert = (condition?: boolean, ...data: unknown[]) => {
  if (!condition) {
    throw new Error(
      `Assertion failed${data.length ? ": " + data.join(" ") : ""}`,
    );
  }
};
