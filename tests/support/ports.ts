/**
 * Ports for tests that need nothing listening.
 *
 * @module
 */

/** A loopback port nothing listens on (bound, then released). */
export function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
