/**
 * Run by env_test.ts in its own process, with the permissions the test
 * picks: connects to the `ws:` URL in `Deno.args[0]` (no `proxy` option,
 * so the environment decides), echoes one message, and prints what came
 * back or the error's name.
 */
import { connect } from "../../mod.ts";

try {
  const ws = await connect(Deno.args[0]);
  await ws.sendText("probe");
  console.log((await ws.recv())?.text());
  await ws.close();
} catch (err) {
  console.log(err instanceof Error ? `${err.name}: ${err.message}` : err);
}
