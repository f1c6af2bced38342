/**
 * What a bench run started, stopped in reverse order however the run ends (done, failed, over its deadline).
 */
export interface Scope {
  /** Runs `stop` when the scope closes. */
  defer(stop: () => unknown): void;
  /** Stops everything deferred, last first; a failing stop is reported and the rest still run. */
  close(): Promise<void>;
}

export function createScope(): Scope {
  const stops: Array<() => unknown> = [];
  return {
    defer: (stop) => void stops.push(stop),
    async close() {
      for (let stop = stops.pop(); stop; stop = stops.pop()) {
        try {
          await stop();
        } catch (err) {
          console.error('bench: a stop failed:', err);
        }
      }
    },
  };
}
