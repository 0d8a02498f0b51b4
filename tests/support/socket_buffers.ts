/**
 * Sizes for tests that need a write the kernel cannot take at once.
 *
 * @module
 */

/** The largest value in a Linux `/proc/sys/net/ipv4/tcp_*mem` triple. */
function maxOf(path: string): number {
  return Number(Deno.readTextFileSync(path).trim().split(/\s+/)[2]);
}

/**
 * A write size that a loopback connection whose reader does not read cannot
 * absorb: more than the largest send buffer plus the largest receive buffer
 * this machine allows (64 MiB where they cannot be read).
 */
export function moreThanSocketsHold(): number {
  try {
    return maxOf("/proc/sys/net/ipv4/tcp_wmem") +
      maxOf("/proc/sys/net/ipv4/tcp_rmem") + (8 << 20);
  } catch {
    return 64 << 20;
  }
}
