// deno-lint-ignore-file no-explicit-any
/**
 * Fails when an exported symbol's JSDoc has no `@example`
 * (`deno doc --lint` checks that JSDoc exists, not that it has an example).
 *
 * Usage: deno run --allow-run --allow-read tools/doc_examples.ts mod.ts src/codec/mod.ts
 *
 * @module
 */
let missing = 0;
for (const entry of Deno.args) {
  const out = new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", entry],
    stdout: "piped",
  }).outputSync();
  if (!out.success) Deno.exit(1);
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  for (const mod of Object.values<any>(doc.nodes)) {
    for (const sym of mod.symbols ?? []) {
      const decls: any[] = sym.declarations ?? [];
      const has = decls.some((d) =>
        (d.jsDoc?.tags ?? []).some((t: any) => t.kind === "example")
      );
      if (!has) {
        missing++;
        const loc = decls[0]?.location;
        console.error(
          `${entry}: ${sym.name} has no @example (${loc?.filename}:${loc?.line})`,
        );
      }
    }
  }
}
if (missing > 0) {
  console.error(`${missing} exported symbol(s) without an @example`);
  Deno.exit(1);
}
console.log("every exported symbol has an @example");
