/**
 * Draining: readiness turns 503 at once, open streams get a final word and end, a call in flight finishes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startServer } from './helpers/server.js';

describe('shutdown', () => {
  it('turns readiness 503 as soon as draining starts, naming the drain', async () => {
    const s = await startServer();
    try {
      s.server.lifecycle.drain();
      const res = await s.fetch(`${s.url}/readyz`);
      const body = (await res.json()) as { code: string; details: { checks: Record<string, string> } };
      assert.equal(res.status, 503);
      assert.equal(body.code, 'EUNAVAILABLE');
      assert.equal(body.details.checks.draining, 'fail');
    } finally {
      await s.stop();
    }
  });

  it('ends open event streams with a final word and lets an in-flight tool call finish', async () => {
    const s = await startServer();
    try {
      const events = await s.authed('/v1/events', { headers: { Accept: 'text/event-stream' } });
      assert.equal(events.status, 200);
      const text = events.text();
      // The first open of a fresh repository runs `openspec init`: slow enough to be in flight during the stop.
      const call = s.authed('/v1/tools/change.open/invoke', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ title: 'In flight', slug: 'in-flight' }),
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const stopped = s.server.stop(10_000);
      const res = await call;
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { created: boolean }).created, true);
      const stream = await text;
      assert.match(stream, /shutting down/);
      await stopped;
    } finally {
      await s.repo.remove();
    }
  });
});
