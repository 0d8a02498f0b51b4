/**
 * The HTTP client's public surface (issue 9, item 13): no abstract base
 * class in the API, internal constructors hidden from `deno doc`, `json()`
 * typed `unknown` until the caller says what it is, optional parameters
 * shown optional.
 */
import assert from "node:assert/strict";
import {
  ClientPool,
  HttpConnection,
  HttpResponse,
  type HttpShortcuts,
} from "../../mod.ts";
import { HeaderList } from "../../src/codec/http/header_list.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

let docs: Promise<Json[]> | undefined;

/** The symbols `deno doc --json mod.ts` lists (run once). */
function modDocs(): Promise<Json[]> {
  return docs ??= (async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["doc", "--json", new URL("../../mod.ts", import.meta.url).href],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.ok(out.success, "deno doc failed");
    const doc = JSON.parse(new TextDecoder().decode(out.stdout));
    return Object.values<Json>(doc.nodes).flatMap((m) => m.symbols ?? []);
  })();
}

async function classDoc(name: string): Promise<Json> {
  const sym = (await modDocs()).find((s) => s.name === name);
  const decl = sym?.declarations.find((d: Json) => d.kind === "class");
  assert.ok(decl, `no class ${name} in deno doc`);
  return decl.def;
}

Deno.test("mod.ts has no HttpMethods: the shortcuts are the HttpShortcuts interface, not a base class", async () => {
  const names = (await modDocs()).map((s) => s.name);
  assert.ok(!names.includes("HttpMethods"), "HttpMethods is still public");
  assert.ok(names.includes("HttpShortcuts"));
  for (const name of ["HttpConnection", "ClientPool", "PooledConnection"]) {
    const def = await classDoc(name);
    assert.equal(def.extends ?? null, null, `${name} extends ${def.extends}`);
  }
  // the methods are installed once, on each class's own prototype
  for (const cls of [HttpConnection, ClientPool]) {
    assert.equal(Object.getPrototypeOf(cls.prototype), Object.prototype);
    for (const m of ["get", "head", "post", "put", "delete"] as const) {
      assert.equal(typeof cls.prototype[m], "function", `${cls.name}.${m}`);
    }
  }
  const shortcuts: HttpShortcuts = new HttpConnection("http://x.test");
  assert.equal(typeof shortcuts.get, "function");
});

Deno.test("the internal constructors of HttpResponse and PooledConnection do not show in deno doc", async () => {
  assert.equal((await classDoc("HttpResponse")).constructors?.length ?? 0, 0);
  assert.equal(
    (await classDoc("PooledConnection")).constructors?.length ?? 0,
    0,
  );
  assert.equal((await classDoc("HttpConnection")).constructors.length, 1);
});

Deno.test("parameters with defaults are optional in the documented signatures", async () => {
  const optional = async (cls: string, method?: string) => {
    const def = await classDoc(cls);
    const fn = method === undefined
      ? def.constructors[0]
      : def.methods.find((m: Json) => m.name === method).functionDef;
    // `options: T = {}` is documented as `options: T` (an "assign" param)
    return fn.params.at(-1).optional === true;
  };
  assert.ok(
    await optional("HttpConnection"),
    "new HttpConnection(origin, options?)",
  );
  assert.ok(await optional("ClientPool"), "new ClientPool(origin, options?)");
  assert.ok(await optional("ClientPool", "acquire"), "acquire(options?)");
});

Deno.test("json() is unknown until the caller names its type", () => {
  const res = new HttpResponse(
    200,
    "OK",
    new HeaderList(),
    null,
    new TextEncoder().encode('{"price":"1.5"}'),
  );
  const value = res.json();
  // @ts-expect-error: unknown has no properties (with `any` this compiled)
  assert.equal(value.price, "1.5");
  assert.equal(res.json<{ price: string }>().price, "1.5");
});
