/**
 * A tool call the test holds in flight: a decorator for `startServer`'s `decorateService` whose `change.open` waits
 * for the test's word before the real one runs, and tells the test when it has begun.
 */
import type { ChangeService } from '../../src/changes/types.js';

export interface HeldOpens {
  decorateService(service: ChangeService): ChangeService;
  /** Resolves once a call to `open` has begun (and is waiting). */
  began: Promise<void>;
  /** Lets every waiting and later `open` run. */
  release(): void;
}

export function heldOpens(): HeldOpens {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let begin!: () => void;
  const began = new Promise<void>((resolve) => (begin = resolve));
  return {
    decorateService: (service) => ({
      ...service,
      open: async (input, ctx) => {
        begin();
        await released;
        return service.open(input, ctx);
      },
    }),
    began,
    release,
  };
}
