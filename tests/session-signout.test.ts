/**
 * Sign-out (`DELETE /v1/session`) on the real server: it works with the cookie alone, revokes that session so a
 * copied cookie opens nothing any more, ends the session's open streams, and is refused from a foreign origin (the
 * Origin check is its CSRF guard). Revocations live in memory, or with `REDIS_URL` in a real `redis-server`, where
 * two instances sharing one Redis and one `COOKIE_SECRET` refuse a cookie signed out on either; while Redis is down,
 * cookie sessions fail closed (503) and bearer tokens keep working.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createSessionRevocations } from '../src/http/session-revocations.js';
import { readChecked } from './helpers/contract.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { startServer, TOKENS, type TestServer, useServer } from './helpers/server.js';
import { until, within } from './helpers/within.js';

const SECRET = { COOKIE_SECRET: 'signout-cookie-secret-0123456789abcdef' };
const ALLOWED = 'https://app.example.test';

/** Signs `token`'s caller in; the `Cookie` header a browser would send from then on. */
async function signIn(s: TestServer, token: string = TOKENS.alice): Promise<string> {
  const res = await s.fetch(`${s.url}/v1/session`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}

/** Signs out with `headers` (a cookie, a token, an Origin); the response, its body read. */
async function signOut(s: TestServer, headers: Record<string, string>): Promise<Response> {
  const res = await s.fetch(`${s.url}/v1/session`, { method: 'DELETE', headers });
  await res.arrayBuffer();
  return res;
}

/** The status and code of a GET of `path` with `cookie` (the body is cancelled: a 200 would be a stream). */
async function openWith(s: TestServer, path: '/v1/events' | '/sse', cookie: string): Promise<[number, string?]> {
  const res = await s.fetch(`${s.url}${path}`, { headers: { Cookie: cookie } });
  if (res.status === 200) {
    await res.body?.cancel();
    return [200];
  }
  const { body, issues } = await readChecked(path === '/sse' ? 'getLegacySse' : 'getEvents', res);
  assert.deepEqual(issues, []);
  return [res.status, (body as { code: string }).code];
}

/** An open stream: the text read so far, and whether it has ended. */
interface OpenStream {
  readonly text: string;
  readonly ended: Promise<void>;
  cancel(): Promise<void>;
}

async function openStream(s: TestServer, path: string, headers: Record<string, string>): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await s.fetch(`${s.url}${path}`, { headers, signal: controller.signal });
  assert.equal(res.status, 200, `${path} opens`);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const stream = { text: '' } as { text: string; ended: Promise<void>; cancel(): Promise<void> };
  stream.ended = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        stream.text += value;
      }
    } catch {
      // The server cut the connection: the stream ended just the same.
    }
  })();
  stream.cancel = async () => {
    controller.abort();
    await stream.ended;
  };
  return stream;
}

const pings = (stream: OpenStream): number => stream.text.split('\n').filter((l) => l === ': ping').length;

describe('sign-out, revocations in memory', () => {
  const s = useServer({ env: { ...SECRET, CORS_ORIGINS: ALLOWED, HEARTBEAT_MS: '50' } });

  it('works with the cookie alone: 204 and the clearing cookie; a copy of the cookie then opens nothing (401)', async () => {
    const cookie = await signIn(s);
    assert.deepEqual(await openWith(s, '/v1/events', cookie), [200]);
    const res = await signOut(s, { Cookie: cookie });
    assert.equal(res.status, 204);
    assert.match(res.headers.get('set-cookie') ?? '', /^task_mcp_session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await openWith(s, '/v1/events', cookie), [401, 'EAUTH']);
    assert.deepEqual(await openWith(s, '/sse', cookie), [401, 'EAUTH']);
    assert.equal((await signOut(s, { Cookie: cookie })).status, 401, 'a signed-out cookie cannot sign out again');
  });

  it("ends the session's open /v1/events and /sse streams, and only those", async () => {
    const cookie = await signIn(s);
    const other = await signIn(s);
    const mine = [
      await openStream(s, '/v1/events', { Cookie: cookie }),
      await openStream(s, '/sse', { Cookie: cookie }),
    ];
    const kept = [
      await openStream(s, '/v1/events', { Cookie: other }),
      await openStream(s, '/v1/events', { Authorization: `Bearer ${TOKENS.alice}` }),
    ];
    await until(5000, 'the streams started', () => [...mine, ...kept].every((st) => st.text.length > 0));

    const res = await signOut(s, { Cookie: cookie, Origin: ALLOWED });
    assert.equal(res.status, 204);
    await within(5000, "the session's streams end", Promise.all(mine.map((st) => st.ended)));
    const seen = kept.map(pings);
    await until(5000, 'the other streams keep beating', () => kept.every((st, i) => pings(st) >= seen[i]! + 2));
    const line = s.logs().find((l) => l.msg === 'session signed out' && l.reqId === res.headers.get('x-request-id'));
    assert.equal(line?.streams, 2, 'the log line counts the streams ended');
    await Promise.all(kept.map((st) => st.cancel()));
  });

  it('refuses a cookie-only sign-out from a foreign origin (403 EFORBIDDEN); the session stays live', async () => {
    const cookie = await signIn(s);
    const foreign: Array<Record<string, string>> = [
      { Origin: 'https://evil.example' },
      { 'Sec-Fetch-Site': 'cross-site' },
    ];
    for (const headers of foreign) {
      const res = await s.fetch(`${s.url}/v1/session`, { method: 'DELETE', headers: { Cookie: cookie, ...headers } });
      const { body, issues } = await readChecked('deleteSession', res);
      assert.deepEqual([res.status, (body as { code: string }).code, issues], [403, 'EFORBIDDEN', []]);
      assert.equal(res.headers.get('set-cookie'), null, 'the cookie is not cleared either');
    }
    assert.deepEqual(await openWith(s, '/v1/events', cookie), [200]);
  });

  it("with a bearer token beside the cookie, signs out the cookie's session; without a cookie, only clears", async () => {
    const cookie = await signIn(s, TOKENS.bob);
    const res = await signOut(s, { Cookie: cookie, Authorization: `Bearer ${TOKENS.bob}` });
    assert.equal(res.status, 204);
    assert.deepEqual(await openWith(s, '/v1/events', cookie), [401, 'EAUTH']);
    assert.equal((await signOut(s, { Authorization: `Bearer ${TOKENS.bob}` })).status, 204);
    assert.equal((await signOut(s, {})).status, 401, 'neither cookie nor token');
  });
});

describe('sign-out, revocations in Redis shared by two instances', () => {
  let redis: TestRedis;
  let a: TestServer;
  let b: TestServer;

  /** Polls `/readyz` until `sessionStore` reads `state` (Redis connects and drops asynchronously). */
  const storeBecomes = (s: TestServer, state: 'ok' | 'degraded') =>
    until(10_000, `the session store becomes ${state}`, async () => {
      const res = await s.fetch(`${s.url}/readyz`);
      const body = (await res.json()) as { checks?: Record<string, string> };
      return res.status === 200 && body.checks?.sessionStore === state;
    });

  before(async () => {
    redis = await startRedis();
    const env = { ...SECRET, REDIS_URL: redis.url };
    a = await startServer({ env });
    b = await startServer({ env, repo: a.repo });
    await Promise.all([storeBecomes(a, 'ok'), storeBecomes(b, 'ok')]);
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  it('signs out on one instance and the other refuses the cookie (401); a new session works on both', async () => {
    const cookie = await signIn(a);
    assert.deepEqual(await openWith(b, '/v1/events', cookie), [200], "one COOKIE_SECRET: b accepts a's cookie");
    assert.equal((await signOut(a, { Cookie: cookie })).status, 204);
    assert.deepEqual(await openWith(b, '/v1/events', cookie), [401, 'EAUTH']);
    assert.deepEqual(await openWith(b, '/sse', cookie), [401, 'EAUTH']);
    assert.deepEqual(await openWith(a, '/v1/events', cookie), [401, 'EAUTH']);
    const fresh = await signIn(b);
    assert.deepEqual([await openWith(a, '/v1/events', fresh), await openWith(b, '/sse', fresh)], [[200], [200]]);
  });

  it('keeps the revocation for as long as the cookie lives, and no longer', async () => {
    const cookie = await signIn(a);
    assert.equal((await signOut(b, { Cookie: cookie })).status, 204);
    const keys = await redisCommand(redis.port, 'KEYS task-mcp:session:revoked:*');
    assert.match(keys, /task-mcp:session:revoked:[A-Za-z0-9_-]{22}/);
    const key = /task-mcp:session:revoked:[A-Za-z0-9_-]{22}/.exec(keys)![0];
    const ttl = Number(/:(\d+)/.exec(await redisCommand(redis.port, `PTTL ${key}`))?.[1]);
    // The default SESSION_TTL_SECONDS is 8 h: the key expires with the cookie, not before and not never.
    assert.ok(ttl > 8 * 3600_000 - 60_000 && ttl <= 8 * 3600_000, `PTTL ${ttl}`);
  });

  it('fails closed while Redis is down: cookie streams are told to come back, sign-out gets 503, bearer tokens work, /readyz says degraded', async () => {
    const cookie = await signIn(a);
    await redis.stop();
    await Promise.all([storeBecomes(a, 'degraded'), storeBecomes(b, 'degraded')]);
    for (const path of ['/v1/events', '/sse']) {
      const told = await b.fetch(`${b.url}${path}`, { headers: { Cookie: cookie } });
      assert.deepEqual([told.status, told.headers.get('content-type')], [200, 'text/event-stream']);
      assert.match(
        await told.text(),
        /^retry: 3000\n\nevent: unavailable\ndata: \{"type":"unavailable","at":"[^"]+"\}\n\n$/,
      );
    }
    const refused = await a.fetch(`${a.url}/v1/session`, { method: 'DELETE', headers: { Cookie: cookie } });
    const { body } = await readChecked('deleteSession', refused);
    assert.deepEqual([refused.status, (body as { code: string }).code], [503, 'EUNAVAILABLE']);
    assert.equal(refused.headers.get('set-cookie'), null, 'nothing changed: the browser keeps its cookie to retry');
    const bearer = await a.authed('/v1/events');
    assert.equal(bearer.status, 200, 'bearer tokens do not depend on the session store');
    await bearer.body?.cancel();
    assert.ok(a.logs().some((l) => l.level === 40 && /^session store: Redis unavailable/.test(String(l.msg))));

    redis = await startRedis(redis.port);
    await Promise.all([storeBecomes(a, 'ok'), storeBecomes(b, 'ok')]);
    assert.deepEqual(await openWith(b, '/v1/events', cookie), [200], 'the retry finds the session live');
    assert.equal((await signOut(a, { Cookie: cookie })).status, 204);
    assert.deepEqual(await openWith(b, '/v1/events', cookie), [401, 'EAUTH']);
  });
});

describe('createSessionRevocations in memory', () => {
  it('remembers a sign-out until the cookie would have expired, and nothing already expired', async () => {
    let now = Date.parse('2026-12-01T12:00:00Z');
    const store = createSessionRevocations({ logger: pino({ enabled: false }), now: () => now });
    await store.revoke('early', new Date(now + 60_000));
    await store.revoke('late', new Date(now + 3_600_000));
    await store.revoke('gone', new Date(now - 1));
    assert.deepEqual(
      [await store.isRevoked('early'), await store.isRevoked('late'), await store.isRevoked('gone')],
      [true, true, false],
    );
    now += 60_000;
    assert.deepEqual([await store.isRevoked('early'), await store.isRevoked('late')], [false, true]);
    assert.deepEqual(store.checks, {}, 'nothing to degrade without Redis');
    store.close();
  });
});

/** One inline command to the Redis on `port`; its raw reply. */
async function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${command}\r\n`));
    socket.once('data', (data) => (socket.destroy(), resolve(data.toString())));
    socket.once('error', reject);
  });
}
