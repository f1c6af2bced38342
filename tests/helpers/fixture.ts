/**
 * Suite fixtures: something started before the first test of the enclosing `describe` (or file) and stopped after
 * its last, in one line instead of a `let`, a `before` and an `after` in every suite.
 */
import { after, before } from 'node:test';

/**
 * Registers `start` as a `before` hook and `stop` as an `after` hook of the enclosing suite, and returns the
 * value's handle: an object that `start`'s result is copied onto (`Object.assign`) when it has started. Use the
 * handle inside tests and hooks, never at describe time (it is empty then). The value must keep its state in
 * closures, not in `this` or in fields reassigned later (the handle holds a copy of its properties).
 *
 * @example
 * const s = fixture(() => startServer(), (server) => server.stop());
 * it('answers', async () => assert.equal((await s.fetch(`${s.url}/healthz`)).status, 200));
 */
export function fixture<T extends object>(start: () => Promise<T>, stop: (value: T) => Promise<unknown>): T {
  const handle = {} as T;
  let started: T | undefined;
  before(async () => {
    started = await start();
    Object.assign(handle, started);
  });
  after(async () => {
    if (started !== undefined) await stop(started);
  });
  return handle;
}
