/**
 * Request rate limits on the real server (in-memory store): the burst and sustained windows, what a 429 carries,
 * the key (client IP plus token name; IP alone without a valid token), the client IP behind a trusted proxy, the
 * unlimited probes, and the memory store's bound.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { pino } from 'pino';
import { clientIp } from '../src/http/client-ip.js';
import { errorResponder } from '../src/http/error-responder.js';
import type { RequestState } from '../src/http/handler.js';
import { createRateLimiter } from '../src/http/rate-limit.js';
import { createTokenStore } from '../src/http/tokens.js';
import { readChecked } from './helpers/contract.js';
import { TOKENS, startServer, type TestServer, useServer } from './helpers/server.js';
import { createIdentify } from '../src/http/auth.js';

const ORIGIN = 'https://app.example.test';
const HOUR = 3600;

/** A cheap authenticated request: an unknown tool answers 404 after auth, before any domain work. */
const call = (s: TestServer, headers: Record<string, string> = {}) =>
  s.fetch(`${s.url}/v1/tools/nope/invoke`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: '{}',
  });
const as = (name: keyof typeof TOKENS) => ({ Authorization: `Bearer ${TOKENS[name]}` });

async function statuses(n: number, send: () => Promise<Response>): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await send();
    await res.arrayBuffer();
    seen.push(res.status);
  }
  return seen;
}

describe('rate limits, burst window', () => {
  const s = useServer({
    env: { RATE_LIMIT_BURST: '3/1h', RATE_LIMIT_SUSTAINED: '1000/1h', CORS_ORIGINS: ORIGIN },
  });

  it('answers the request past the window with a 429 problem a browser can read, with Retry-After', async () => {
    assert.deepEqual(await statuses(3, () => call(s, { ...as('alice'), Origin: ORIGIN })), [404, 404, 404]);
    const res = await call(s, { ...as('alice'), Origin: ORIGIN });
    const { body, issues } = await readChecked('invokeTool', res);
    assert.equal(res.status, 429);
    assert.deepEqual(issues, []);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal((body as { code: string }).code, 'ERATELIMIT');
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= HOUR, `Retry-After ${retryAfter}`);
    assert.equal(res.headers.get('x-ratelimit-limit'), '3');
    assert.equal(res.headers.get('x-ratelimit-remaining'), '0');
    const reset = Number(res.headers.get('x-ratelimit-reset'));
    assert.ok(reset > Date.now() / 1000 && reset <= Date.now() / 1000 + HOUR + 1, `reset ${reset} in epoch seconds`);
    assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(res.headers.get('access-control-expose-headers') ?? '', /Retry-After/);
  });

  it('never limits /healthz and /readyz', async () => {
    assert.deepEqual(await statuses(10, () => s.fetch(`${s.url}/healthz`)), Array(10).fill(200));
    assert.deepEqual(await statuses(5, () => s.fetch(`${s.url}/readyz`)), Array(5).fill(200));
  });

  it('gives another token from the same address its own budget', async () => {
    assert.equal((await call(s, as('alice'))).status, 429);
    assert.deepEqual(await statuses(3, () => call(s, as('bob'))), [404, 404, 404]);
    assert.equal((await call(s, as('bob'))).status, 429);
  });

  it('counts requests without a valid token by address alone, and refuses them before authentication', async () => {
    const forged = { Authorization: 'Bearer forged-token-0123456789' };
    assert.deepEqual(await statuses(4, () => call(s, forged)), [401, 401, 401, 429]);
    // Another forged token, or none at all, is the same anonymous budget.
    assert.equal((await call(s, { Authorization: 'Bearer another-forged-token-01234' })).status, 429);
    assert.equal((await s.fetch(`${s.url}/openapi.yaml`)).status, 429);
  });
});

describe('rate limits, sustained window', () => {
  const s = useServer({ env: { RATE_LIMIT_BURST: '100/1h', RATE_LIMIT_SUSTAINED: '2/1h' } });

  it('refuses past the sustained window even while the burst window has room', async () => {
    assert.deepEqual(await statuses(3, () => call(s, as('alice'))), [404, 404, 429]);
    const res = await call(s, as('alice'));
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('x-ratelimit-limit'), '2');
    await res.arrayBuffer();
  });
});

describe('the client address', () => {
  const forwarded = (chain: string) => ({ ...as('alice'), 'X-Forwarded-For': chain });

  it('behind TRUST_PROXY=1 is the right-most X-Forwarded-For entry; what the client wrote left of it is ignored', async () => {
    const s = await startServer({ env: { TRUST_PROXY: '1', RATE_LIMIT_BURST: '2/1h' } });
    try {
      let i = 0;
      const spoofing = () => call(s, forwarded(`10.9.9.${i++}, 198.51.100.${i}, 203.0.113.7`));
      assert.deepEqual(await statuses(3, spoofing), [404, 404, 429]);
      assert.equal((await call(s, forwarded('203.0.113.8'))).status, 404);
      const ips = s
        .logs()
        .filter((line) => line.req !== undefined)
        .map((line) => line.ip);
      assert.deepEqual(ips, ['203.0.113.7', '203.0.113.7', '203.0.113.7', '203.0.113.8']);
    } finally {
      await s.stop();
    }
  });

  it('without TRUST_PROXY is the socket peer, whatever X-Forwarded-For says', async () => {
    const s = await startServer({ env: { RATE_LIMIT_BURST: '2/1h' } });
    try {
      let i = 0;
      assert.deepEqual(await statuses(3, () => call(s, forwarded(`203.0.113.${i++}`))), [404, 404, 429]);
      const ips = new Set(
        s
          .logs()
          .filter((line) => line.req !== undefined)
          .map((line) => line.ip),
      );
      assert.deepEqual([...ips], ['127.0.0.1']);
    } finally {
      await s.stop();
    }
  });
});

describe('the in-memory store', () => {
  let server: Server;
  let url: string;
  const limiter = createRateLimiter({
    burst: { max: 1, durationMs: HOUR * 1000 },
    sustained: { max: 1000, durationMs: HOUR * 1000 },
    identify: createIdentify(createTokenStore([]), () => undefined),
    logger: pino({ level: 'silent' }),
    exempt: [],
    maxMemoryKeys: 10,
  });
  before(async () => {
    const app = new Koa<RequestState>({ proxy: true, maxIpsCount: 1 });
    app.use(async (ctx, next) => ((ctx.state.ip = clientIp(ctx)), next()));
    app.use(errorResponder());
    app.use(limiter.middleware);
    app.use((ctx) => void (ctx.body = 'ok'));
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    limiter.close();
    await new Promise((resolve) => server.close(resolve));
  });
  const from = (ip: string) => fetch(url, { headers: { 'X-Forwarded-For': ip } });

  it('stays bounded under a flood of distinct addresses by forgetting the oldest keys', async () => {
    assert.deepEqual(await statuses(2, () => from('192.0.2.1')), [200, 429]);
    for (let i = 0; i < 30; i++) await (await from(`198.51.100.${i}`)).arrayBuffer();
    // 192.0.2.1's key was the oldest of more than the store may hold.
    assert.equal((await from('192.0.2.1')).status, 200);
  });
});
