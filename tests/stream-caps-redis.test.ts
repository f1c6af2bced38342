/**
 * The streams cap shared through a real `redis-server` by two instances: one budget while Redis answers; per
 * instance (never unlimited) while it is away, with `/readyz` naming `streamCapStore: "degraded"`; one budget
 * again once it is back, the slots held meanwhile counted at once. The streams are HTTP+SSE sessions: a feed
 * stream would end with Redis (told `unavailable`) and give its slot back.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { holdStream, type Held } from './helpers/held-stream.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { TOKENS, startServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/within.js';

const auth = { Authorization: `Bearer ${TOKENS.alice}` };
const WAIT_MS = 10_000;

describe('the streams cap through Redis', () => {
  let redis: TestRedis;
  let a: TestServer;
  let b: TestServer;
  const held: Held[] = [];

  const store = async (s: TestServer): Promise<unknown> => {
    const res = await s.fetch(`${s.url}/readyz`);
    return [res.status, ((await res.json()) as { checks?: Record<string, string> }).checks?.streamCapStore];
  };
  const storesRead = (state: 'ok' | 'degraded') =>
    until(WAIT_MS, `streamCapStore ${state}`, async () => {
      const seen = [await store(a), await store(b)];
      return (
        JSON.stringify(seen) ===
        JSON.stringify([
          [200, state],
          [200, state],
        ])
      );
    });
  const hold = async (s: TestServer): Promise<[number, string | undefined]> => {
    const stream = await holdStream(s.fetch, `${s.url}/sse`, auth);
    held.push(stream);
    return [stream.status, stream.scope];
  };

  before(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, MAX_STREAMS_PER_CLIENT: '2' };
    a = await startServer({ env });
    b = await startServer({ env, repo: a.repo });
    await storesRead('ok');
  });
  afterEach(() => held.splice(0).forEach((stream) => stream.close()));
  after(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  it('is one budget while Redis answers, per instance while it is away, one again once it is back', async () => {
    assert.deepEqual(
      [await hold(a), await hold(b)],
      [
        [200, undefined],
        [200, undefined],
      ],
    );
    assert.deepEqual(
      [await hold(a), await hold(b)],
      [
        [429, 'client'],
        [429, 'client'],
      ],
    );

    await redis.kill();
    await storesRead('degraded');
    // Each instance counts its own slot only: one more each, then its own cap.
    assert.deepEqual(
      [await hold(a), await hold(a), await hold(b), await hold(b)],
      [
        [200, undefined],
        [429, 'client'],
        [200, undefined],
        [429, 'client'],
      ],
    );
    assert.equal(
      a.logs().filter((line) => String(line.msg).startsWith('stream-cap store: Redis unavailable')).length,
      1,
      'the outage is logged once',
    );

    redis = await startRedis(redis.port);
    await storesRead('ok');
    // Each instance wrote what it holds (two each) as it reconnected: the client is over its cap everywhere.
    assert.deepEqual(
      [await hold(a), await hold(b)],
      [
        [429, 'client'],
        [429, 'client'],
      ],
    );
  });
});
