/**
 * Writes waiting on a slow reader: many `write()`s at once (an MCP session's replies and notifications are sent
 * concurrently) share one wait for `drain`, so a backed-up stream holds one `drain` listener, not one per frame,
 * and Node never warns of a leak; each write resolves once the reader takes more.
 */
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createStreamWriter } from '../src/streaming/stream-writer.js';

/** A reader that takes nothing until `take()`: 16 bytes of buffer, then `write` says wait. */
function slowReader(): Writable & { take(): void } {
  const pending: Array<() => void> = [];
  let taking = false;
  const target = new Writable({
    highWaterMark: 16,
    write: (_chunk, _encoding, done) => (taking ? done() : pending.push(done)),
  });
  return Object.assign(target, {
    take() {
      taking = true;
      pending.splice(0).forEach((done) => done());
    },
  });
}

describe('createStreamWriter under backpressure', () => {
  it('twenty writes at once wait on one drain listener, with no leak warning, and all go through', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const target = slowReader();
      const baseline = { drain: target.listenerCount('drain'), error: target.listenerCount('error') };
      const writer = createStreamWriter(target, { heartbeatMs: 60_000, heartbeat: () => '' });
      const writes = Array.from({ length: 20 }, (_, i) => writer.write(`frame ${i} of twenty\n`));
      assert.equal(target.listenerCount('drain'), baseline.drain + 1);
      // The writer's own error listener and the shared wait's.
      assert.equal(target.listenerCount('error'), baseline.error + 2);
      target.take();
      assert.deepEqual(await Promise.all(writes), Array(20).fill(true));
      // A warning is emitted on a later tick.
      await turn();
      assert.deepEqual(
        warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
        [],
      );
      writer.close();
      assert.equal(target.listenerCount('drain'), baseline.drain);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
