/**
 * What an MCP client was notified of, in order, for a test to wait on with a deadline.
 */
import { within } from './within.js';

export interface Note {
  method: string;
  params: Record<string, unknown>;
}

export interface Inbox {
  readonly got: Note[];
  /** Records one notification (pass it the SDK notification's method and params). */
  push(method: string, params: unknown): void;
  /** Resolves with what arrived once `done` holds for it; rejects after `ms`. */
  until(what: string, done: (seen: Note[]) => boolean, ms?: number): Promise<Note[]>;
}

export function inbox(): Inbox {
  const got: Note[] = [];
  const wakers = new Set<() => void>();
  return {
    got,
    push(method, params) {
      got.push({ method, params: (params ?? {}) as Record<string, unknown> });
      for (const wake of wakers) wake();
    },
    until(what, done, ms = 10_000) {
      let wake = (): void => undefined;
      const arrived = new Promise<Note[]>((resolve) => {
        wake = () => void (done(got) && resolve([...got]));
        wakers.add(wake);
        wake();
      });
      return within(ms, what, arrived).finally(() => wakers.delete(wake));
    },
  };
}
