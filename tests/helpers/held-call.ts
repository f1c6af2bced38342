/**
 * Tool calls the test holds in flight: a decorator for `startServer`'s `decorateService` whose `change.open` waits
 * for the test's word before the real one runs, and tells the test how many have begun.
 */
import type { ChangeService } from '../../src/changes/types.js';

export interface HeldOpens {
  decorateService(service: ChangeService): ChangeService;
  /** Resolves once a call to `open` has begun (and is waiting). */
  began: Promise<void>;
  /** Resolves once `count` calls to `open` have begun. */
  begun(count: number): Promise<void>;
  /** Lets every waiting and later `open` run. */
  release(): void;
}

export function heldOpens(): HeldOpens {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started = 0;
  const waiting = new Set<{ count: number; resolve(): void }>();
  const begun = (count: number) =>
    new Promise<void>((resolve) => {
      if (started >= count) resolve();
      else waiting.add({ count, resolve });
    });
  return {
    decorateService: (service) => ({
      ...service,
      open: async (input, ctx) => {
        started += 1;
        for (const waiter of waiting) {
          if (started < waiter.count) continue;
          waiting.delete(waiter);
          waiter.resolve();
        }
        await released;
        return service.open(input, ctx);
      },
    }),
    began: begun(1),
    begun,
    release,
  };
}
