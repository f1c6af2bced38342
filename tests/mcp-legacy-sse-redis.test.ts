/**
 * HTTP+SSE sessions across two in-process instances on a real `redis-server`, while Redis is away: a message for a
 * session the receiving instance holds still works; one for a session held elsewhere is 503 EUNAVAILABLE (where it
 * lives cannot be known), not a 404 that would tell the client its session is gone; once Redis is back, it is
 * relayed again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { TOKENS, startServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/within.js';

const auth = { Authorization: `Bearer ${TOKENS.alice}` };
const WAIT_MS = 10_000;
const ping = JSON.stringify({ jsonrpc: '2.0', id: 'p', method: 'ping' });

describe('HTTP+SSE sessions through Redis, while it is away', () => {
  let redis: TestRedis;
  let a: TestServer;
  let b: TestServer;
  const abort = new AbortController();

  /** The endpoint (`messages?sessionId=…`, relative to `/sse`) of a session opened on `s` (its stream held until the suite ends). */
  async function openSession(s: TestServer): Promise<string> {
    const res = await s.fetch(`${s.url}/sse`, { headers: auth, signal: abort.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!/data: (\S+)\n/.test(text)) text += decoder.decode((await reader.read()).value, { stream: true });
    return /data: (\S+)\n/.exec(text)![1]!;
  }
  const postAt = async (s: TestServer, endpoint: string): Promise<[number, string | undefined]> => {
    const res = await s.fetch(new URL(endpoint, `${s.url}/sse`), {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: ping,
    });
    return [res.status, res.status === 202 ? undefined : ((await res.json()) as { code: string }).code];
  };
  /** Whether `s` sees Redis so (its `streamCapStore` check; the registry shares the connection state). */
  const redisReads = async (s: TestServer, state: 'ok' | 'degraded'): Promise<boolean> => {
    const res = await s.fetch(`${s.url}/readyz`);
    return ((await res.json()) as { checks?: Record<string, string> }).checks?.streamCapStore === state;
  };

  before(async () => {
    redis = await startRedis();
    a = await startServer({ env: { REDIS_URL: redis.url } });
    b = await startServer({ env: { REDIS_URL: redis.url }, repo: a.repo });
    await until(WAIT_MS, 'both connected', async () => (await redisReads(a, 'ok')) && (await redisReads(b, 'ok')));
  });
  after(async () => {
    abort.abort();
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  it('is 503 EUNAVAILABLE elsewhere and 202 on its own instance while Redis is away; relayed again once back', async () => {
    const endpoint = await openSession(a);
    await until(WAIT_MS, 'the session registered', async () => (await postAt(b, endpoint))[0] === 202);

    await redis.kill();
    await until(WAIT_MS, 'Redis seen gone', () => redisReads(b, 'degraded'));
    assert.deepEqual(
      [await postAt(b, endpoint), await postAt(a, endpoint)],
      [
        [503, 'EUNAVAILABLE'],
        [202, undefined],
      ],
    );

    redis = await startRedis(redis.port);
    // Back, the holder registers its open sessions again at once (a Redis without its data knows none).
    await until(WAIT_MS, 'relayed again', async () => (await postAt(b, endpoint))[0] === 202);
  });
});
