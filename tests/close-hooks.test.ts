/**
 * `onClose` (src/streaming/close-hooks.ts) on a real `Writable`: every hook on one `close` listener, run once and in
 * the order registered; an unregistered hook does not run, and the last one unregistered takes the listener off.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { onClose } from '../src/streaming/close-hooks.js';

const sink = (): Writable => new Writable({ write: (_chunk, _encoding, done) => done() });

describe('onClose', () => {
  it('runs every hook once, in the order registered, from one close listener', async () => {
    const target = sink();
    const ran: string[] = [];
    for (const name of ['metrics', 'span', 'slot', 'writer']) onClose(target, () => ran.push(name));
    assert.equal(target.listenerCount('close'), 1);
    target.destroy();
    await once(target, 'close');
    target.emit('close');
    assert.deepEqual(ran, ['metrics', 'span', 'slot', 'writer']);
  });

  it('skips an unregistered hook; the last one unregistered takes the listener off', async () => {
    const target = sink();
    const before = target.listenerCount('close');
    const ran: string[] = [];
    const forgetA = onClose(target, () => ran.push('a'));
    const forgetB = onClose(target, () => ran.push('b'));
    forgetA();
    forgetA();
    assert.equal(target.listenerCount('close'), before + 1);
    forgetB();
    assert.equal(target.listenerCount('close'), before);
    onClose(target, () => ran.push('c'));
    target.destroy();
    await once(target, 'close');
    assert.deepEqual(ran, ['c']);
  });
});
