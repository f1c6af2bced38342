/**
 * Rate limits shared through a real `redis-server` (apt `redis-server`): two instances spend one budget; when
 * Redis dies both keep serving, report the degraded store in `/readyz`, log it, and still limit per instance;
 * when it comes back the shared budget resumes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { TOKENS, startServer, type TestServer } from './helpers/server.js';

const alice = { Authorization: `Bearer ${TOKENS.alice}`, 'Content-Type': 'application/json' };
const call = async (s: TestServer): Promise<number> => {
  const res = await s.fetch(`${s.url}/v1/tools/nope/invoke`, { method: 'POST', headers: alice, body: '{}' });
  await res.arrayBuffer();
  return res.status;
};

async function readiness(s: TestServer): Promise<{ status: number; store: unknown }> {
  const res = await s.fetch(`${s.url}/readyz`);
  const body = (await res.json()) as { checks?: Record<string, string>; details?: { checks?: object } };
  return { status: res.status, store: body.checks?.rateLimitStore };
}

/** Polls `/readyz` until the store reads `state` (Redis connects and drops asynchronously). */
async function storeBecomes(s: TestServer, state: 'ok' | 'degraded'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const seen = await readiness(s);
    if (seen.store === state) return assert.equal(seen.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`the rate-limit store never became ${state}`);
}

describe('rate limits through Redis', () => {
  let redis: TestRedis;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, RATE_LIMIT_BURST: '1000/1h', RATE_LIMIT_SUSTAINED: '6/1h' };
    a = await startServer({ env });
    b = await startServer({ env, repo: a.repo });
    await Promise.all([storeBecomes(a, 'ok'), storeBecomes(b, 'ok')]);
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  it('makes two instances spend one budget', async () => {
    const seen = [await call(a), await call(b), await call(a), await call(b), await call(a), await call(b)];
    assert.deepEqual(seen, Array(6).fill(404));
    assert.equal(await call(a), 429);
    const res = await b.fetch(`${b.url}/v1/tools/nope/invoke`, { method: 'POST', headers: alice, body: '{}' });
    assert.equal(res.status, 429);
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(retryAfter > 60 && retryAfter <= 3600, `Retry-After ${retryAfter} counts down from the hour`);
    const reset = Number(res.headers.get('x-ratelimit-reset'));
    assert.ok(Math.abs(reset - (Date.now() / 1000 + retryAfter)) < 5, `reset ${reset} in epoch seconds`);
    await res.arrayBuffer();
  });

  it('keeps serving and limiting per instance when Redis dies, and says so in /readyz and the log', async () => {
    await redis.stop();
    await Promise.all([storeBecomes(a, 'degraded'), storeBecomes(b, 'degraded')]);
    assert.equal((await a.fetch(`${a.url}/healthz`)).status, 200);
    // Each instance now counts in its own memory: a fresh budget of 6 each, still enforced.
    const seenA: number[] = [];
    for (let i = 0; i < 7; i++) seenA.push(await call(a));
    assert.deepEqual(seenA, [...Array(6).fill(404), 429]);
    assert.equal(await call(b), 404);
    const warned = a.logs().some((l) => l.level === 40 && /Redis unavailable/.test(String(l.msg)));
    assert.ok(warned, 'a warning names the degraded store');
  });

  it('shares the budget again once Redis is back', async () => {
    redis = await startRedis(redis.port);
    await Promise.all([storeBecomes(a, 'ok'), storeBecomes(b, 'ok')]);
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) seen.push(await call(i % 2 === 0 ? a : b));
    // The new Redis is empty: 6 for both together.
    for (let i = 0; i < 3; i++) seen.push(await call(i % 2 === 0 ? a : b));
    assert.deepEqual(seen, [...Array(6).fill(404), 429]);
  });
});
