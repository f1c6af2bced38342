import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { TOKENS, startServer, useServer } from './helpers/server.js';
import type { ErrorCode } from '../generated/types.gen.js';
import { readChecked } from './helpers/contract.js';
import { assertRefusal } from './helpers/hostile.js';
import { createTempDir } from './helpers/repo.js';

describe('the HTTP foundation', () => {
  const s = useServer({ env: { CORS_ORIGINS: 'https://app.example.test' } });

  it('answers liveness over real TLS without a token, as the contract says', async () => {
    assert.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await s.fetch(`${s.url}/healthz`);
    const { body, issues } = await readChecked('getHealth', res);
    assert.equal(res.status, 200);
    assert.deepEqual(body, { status: 'ok' });
    assert.deepEqual(issues, []);
  });

  it('reports readiness with the repository check', async () => {
    const res = await s.fetch(`${s.url}/readyz`);
    const { body, issues } = await readChecked('getReadiness', res);
    assert.equal(res.status, 200);
    assert.deepEqual(issues, []);
    assert.deepEqual(body, { status: 'ready', checks: { draining: 'ok', repo: 'ok', writable: 'ok' } });
  });

  it('serves the contract itself', async () => {
    const res = await s.fetch(`${s.url}/openapi.yaml`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/yaml/);
    assert.equal(await res.text(), readFileSync(new URL('../openapi.yaml', import.meta.url), 'utf8'));
  });

  it('refuses a tool call without a token with 401 problem+json and a Bearer challenge', async () => {
    const res = await s.fetch(`${s.url}/v1/tools/change.open/invoke`, { method: 'POST', body: '{}' });
    const { body, issues } = await readChecked('invokeTool', res);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="task-mcp"');
    assert.deepEqual(issues, []);
    assert.equal((body as { code: string }).code, 'EAUTH');
    assert.equal((body as { requestId: string }).requestId, res.headers.get('x-request-id'));
  });

  it('refuses a wrong token, saying the token is invalid', async () => {
    const res = await s.fetch(`${s.url}/v1/events`, { headers: { Authorization: 'Bearer not-a-real-token-at-all' } });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="task-mcp", error="invalid_token"');
    await res.body?.cancel();
  });

  it('refuses a token in the query string even next to a valid header', async () => {
    const res = await s.authed(`/v1/events?access_token=${TOKENS.alice}`);
    const { body } = await readChecked('getEvents', res);
    assert.equal(res.status, 401);
    assert.match((body as { detail: string }).detail, /query string/);
  });

  /** Requests no operation takes: the refusal and the `Allow` (the route's methods) each is answered with. */
  const offRoute: Array<[string, string, string, number, ErrorCode, RegExp | null]> = [
    ['an unknown route', '/nope', 'GET', 404, 'ENOTFOUND', null],
    ['a method the route does not take', '/healthz', 'DELETE', 405, 'EMETHOD', /GET/],
    ['a method no route takes at all (PROPFIND) on a route', '/healthz', 'PROPFIND', 405, 'EMETHOD', /GET/],
    ['a method no route takes at all (PROPFIND) off every route', '/nope', 'PROPFIND', 404, 'ENOTFOUND', null],
  ];
  for (const [what, path, method, status, code, allow] of offRoute) {
    it(`answers ${what} with ${status} ${code}${allow ? ' and Allow' : ''}`, async () => {
      const res = await s.authed(path, { method });
      if (allow) assert.match(res.headers.get('allow') ?? '', allow);
      await assertRefusal(res, status, code);
    });
  }

  it('validates parameters against the contract and lists every problem', async () => {
    const res = await s.authed('/messages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    const { body, issues } = await readChecked('postLegacyMessage', res);
    assert.equal(res.status, 400);
    assert.deepEqual(issues, []);
    assert.equal((body as { code: string }).code, 'EBADINPUT');
    assert.deepEqual((body as { errors: unknown[] }).errors, [{ location: 'query/sessionId', message: 'is required' }]);
  });

  it('answers a tool the contract does not know with 404 problem+json', async () => {
    const res = await s.authed('/v1/tools/change.nope/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    const { body, issues } = await readChecked('invokeTool', res);
    assert.equal(res.status, 404);
    assert.deepEqual(issues, []);
    assert.equal((body as { code: string }).code, 'ENOTFOUND');
  });

  /** Bodies the router's JSON parser refuses before any handler runs. */
  const badBodies: Array<[string, string, string, number, ErrorCode]> = [
    ['a body that is not JSON', 'title=x', 'application/x-www-form-urlencoded', 415, 'EUNSUPPORTED_MEDIA'],
    ['malformed JSON', '{"title": ', 'application/json', 400, 'EBADJSON'],
    [
      'a body over MAX_BODY_BYTES',
      JSON.stringify({ title: 'x'.repeat(2 * 1024 * 1024) }),
      'application/json',
      413,
      'ETOOLARGE',
    ],
  ];
  for (const [what, body, type, status, code] of badBodies) {
    it(`refuses ${what} with ${status} ${code}`, async () => {
      const res = await s.authed('/v1/tools/change.open/invoke', {
        method: 'POST',
        headers: { 'Content-Type': type },
        body,
      });
      await assertRefusal(res, status, code);
    });
  }

  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const kept = await s.fetch(`${s.url}/healthz`, { headers: { 'X-Request-Id': 'client-id-42' } });
    assert.equal(kept.headers.get('x-request-id'), 'client-id-42');
    const replaced = await s.fetch(`${s.url}/healthz`, { headers: { 'X-Request-Id': 'bad id with spaces' } });
    assert.match(replaced.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    await Promise.all([kept.text(), replaced.text()]);
  });

  it('sends CORS headers to an allowed origin only, errors included', async () => {
    const allowed = await s.fetch(`${s.url}/v1/events`, { headers: { Origin: 'https://app.example.test' } });
    assert.equal(allowed.status, 401);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.test');
    assert.equal(allowed.headers.get('access-control-allow-credentials'), 'true');
    assert.match(allowed.headers.get('access-control-expose-headers') ?? '', /X-Request-Id/);
    const other = await s.fetch(`${s.url}/v1/events`, { headers: { Origin: 'https://evil.example.test' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    await Promise.all([allowed.text(), other.text()]);
  });

  it('logs one JSON line per request with id, status, bytes and caller, and never a secret', async () => {
    const res = await s.authed('/healthz', {
      headers: { 'X-Request-Id': 'log-line-check', Cookie: 'task_mcp_session=secret-cookie' },
    });
    const text = await res.text();
    await s.waitForLog((line) => line.reqId === 'log-line-check');
    const lines = s.logs().filter((line) => line.reqId === 'log-line-check');
    assert.equal(lines.length, 1);
    const [line] = lines as [Record<string, unknown>];
    assert.deepEqual(line.req, { method: 'GET', path: '/healthz' });
    assert.deepEqual(line.res, { status: 200 });
    assert.equal(line.bytes, Buffer.byteLength(text));
    assert.equal(typeof line.responseTime, 'number');
    const raw = s.rawLogs();
    assert.ok(!raw.includes(TOKENS.alice) && !raw.includes(TOKENS.bob), 'a token reached the log');
    assert.ok(!raw.includes('secret-cookie'), 'a cookie reached the log');
  });

  it('names the caller by token name on the log line', async () => {
    const res = await s.authed('/v1/events', { headers: { 'X-Request-Id': 'caller-check' } });
    await res.body?.cancel();
    const line = await s.waitForLog((l) => l.reqId === 'caller-check' && l.res !== undefined);
    assert.equal(line.caller, 'alice');
  });
});

describe('readiness', () => {
  it('turns 503 naming the repo check when REPO_ROOT is not a git work tree', async () => {
    const plain = await createTempDir();
    const s = await startServer({ env: { REPO_ROOT: plain.dir } });
    try {
      const res = await s.fetch(`${s.url}/readyz`);
      const { body, issues } = await readChecked('getReadiness', res);
      assert.equal(res.status, 503);
      assert.deepEqual(issues, []);
      assert.equal((body as { code: string }).code, 'EUNAVAILABLE');
      assert.deepEqual((body as { details: unknown }).details, {
        checks: { draining: 'ok', repo: 'fail', writable: 'ok' },
      });
    } finally {
      await s.stop();
      await plain.remove();
    }
  });
});

describe('cookie sessions', () => {
  it('end when their token is removed from TASK_MCP_TOKENS, even with the same COOKIE_SECRET', async () => {
    const secret = { COOKIE_SECRET: 's'.repeat(32) };
    const first = await startServer({ env: secret });
    const signIn = await first.fetch(`${first.url}/v1/session`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKENS.bob}` },
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    await signIn.text();
    await first.stop();
    const second = await startServer({ env: { ...secret, TASK_MCP_TOKENS: `alice:${TOKENS.alice}` } });
    try {
      const res = await second.fetch(`${second.url}/v1/events`, { headers: { Cookie: cookie } });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { code: string }).code, 'EAUTH');
    } finally {
      await second.stop();
    }
  });
});
