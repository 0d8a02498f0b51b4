/**
 * Counts the timers a test leaves pending. Deno's test sanitizers catch
 * leaked sockets, but (as of Deno 2.9) not a `setTimeout` left running, so
 * tests that must leave no timer behind wrap their body with
 * {@link noTimersLeft}.
 */

type Handle = ReturnType<typeof setTimeout>;

/**
 * Runs `fn` with `setTimeout` / `setInterval` tracked, then fails if any
 * timer started meanwhile is still pending (neither fired nor cleared).
 */
export function noTimersLeft(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    const pending = new Map<Handle, string>();
    const {
      setTimeout: st,
      setInterval: si,
      clearTimeout: ct,
      clearInterval: ci,
    } = globalThis;
    const where = () =>
      new Error().stack?.split("\n").slice(3, 6).join(" | ") ?? "";
    globalThis.setTimeout =
      ((cb: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
        const h: Handle = st(() => {
          pending.delete(h);
          cb(...args);
        }, ms);
        pending.set(h, where());
        return h;
      }) as typeof setTimeout;
    globalThis.setInterval =
      ((cb: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
        const h: Handle = si(() => cb(...args), ms);
        pending.set(h, where());
        return h;
      }) as typeof setInterval;
    globalThis.clearTimeout = ((h?: Handle) => {
      if (h !== undefined) pending.delete(h);
      ct(h);
    }) as typeof clearTimeout;
    globalThis.clearInterval = ((h?: Handle) => {
      if (h !== undefined) pending.delete(h);
      ci(h);
    }) as typeof clearInterval;
    try {
      await fn();
    } finally {
      globalThis.setTimeout = st;
      globalThis.setInterval = si;
      globalThis.clearTimeout = ct;
      globalThis.clearInterval = ci;
    }
    if (pending.size > 0) {
      const list = [...pending.values()].join("\n  ");
      for (const h of pending.keys()) ct(h);
      throw new Error(
        `Expected no pending timers, got ${pending.size}:\n  ${list}`,
      );
    }
  };
}

/**
 * Runs `fn` with a time bound: the test fails with a clear error after `ms`
 * instead of hanging (a broken feed that reconnects forever, a server that
 * never answers). The bound's timer is cleared when `fn` settles.
 */
export function bounded(
  ms: number,
  fn: () => Promise<void>,
): () => Promise<void> {
  return async () => {
    let timer: Handle | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `Expected the test to finish within ${ms} ms, it did not`,
            ),
          ),
        ms,
      );
    });
    try {
      await Promise.race([fn(), limit]);
    } finally {
      clearTimeout(timer);
    }
  };
}
