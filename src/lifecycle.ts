/**
 * The server's drain state. On SIGTERM readiness turns 503 at once, and every open stream is told to finish
 * (a final event, then close) through the callbacks registered here.
 */
export interface Lifecycle {
  readonly draining: boolean;
  /** Registers what to do when draining starts; returns the unregister function. */
  onDrain(fn: () => void): () => void;
  /** Starts draining; runs each callback once. */
  drain(): void;
}

export function createLifecycle(): Lifecycle {
  const callbacks = new Set<() => void>();
  let draining = false;
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
  };
}
