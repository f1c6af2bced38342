/**
 * The server's drain state and the work it waits for. On SIGTERM readiness turns 503 at once, every open stream is
 * told to finish (a final event, then close) through the callbacks registered here, and the drain waits for each
 * tool call tracked here, whether or not its client still listens: a call's writes (an archive and its receipt)
 * matter more than the connection it came on.
 */

/** A tool call in flight, as the drain's log names it. */
export interface TrackedCall {
  tool: string;
  /** The request id of the call (for HTTP+SSE, of the session's `GET /sse`). */
  reqId: string;
  caller: string;
  /** When tracking began (epoch ms), for the log. */
  since: number;
}

export interface Lifecycle {
  readonly draining: boolean;
  /** Registers what to do when draining starts; returns the unregister function. */
  onDrain(fn: () => void): () => void;
  /** Starts draining; runs each callback once. */
  drain(): void;
  /** Counts `work` as in flight until it settles; returns `work` itself, so callers await what they awaited. */
  track<T>(work: Promise<T>, call: Omit<TrackedCall, 'since'>): Promise<T>;
  /** The calls in flight now, oldest first. */
  inFlight(): TrackedCall[];
  /** Resolves once no call is in flight (at once when none is). */
  idle(): Promise<void>;
}

export function createLifecycle(now: () => number = Date.now): Lifecycle {
  const callbacks = new Set<() => void>();
  const calls = new Set<TrackedCall>();
  let waiters: Array<() => void> = [];
  let draining = false;
  const settle = (call: TrackedCall): void => {
    calls.delete(call);
    if (calls.size > 0) return;
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  };
  return {
    get draining() {
      return draining;
    },
    onDrain(fn) {
      if (draining) queueMicrotask(fn);
      else callbacks.add(fn);
      return () => callbacks.delete(fn);
    },
    drain() {
      if (draining) return;
      draining = true;
      for (const fn of callbacks) fn();
      callbacks.clear();
    },
    track(work, label) {
      const call: TrackedCall = { ...label, since: now() };
      calls.add(call);
      // Both branches: a derived promise that rejects with `work` would be an unhandled rejection of its own.
      work.then(
        () => settle(call),
        () => settle(call),
      );
      return work;
    },
    inFlight: () => [...calls].map((call) => ({ ...call })),
    idle: () => (calls.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
  };
}
