/**
 * Waiting on a ring without blocking the thread: `Atomics.waitAsync`, with
 * the waiting flag that tells the other side to `Atomics.notify` (see
 * `ring.ts`).
 *
 * @module
 */

/**
 * Resolves once `words[index]` may have moved (the other side notified,
 * or it changed before this could sleep), or at once when `ready()` is
 * already true. Sets `words[flag]` while it waits, and checks `ready()`
 * after setting it, so that a notify sent in between is never lost. Does
 * not keep the process alive by itself.
 */
export async function waitWord(
  words: Int32Array,
  index: number,
  flag: number,
  ready: () => boolean,
): Promise<void> {
  Atomics.store(words, flag, 1);
  try {
    const value = Atomics.load(words, index);
    if (ready()) return;
    const w = Atomics.waitAsync(words, index, value);
    if (w.async) await w.value;
  } finally {
    Atomics.store(words, flag, 0);
  }
}
