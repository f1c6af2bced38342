/**
 * Scopes on the REST routes, with static tokens limited in `TASK_MCP_TOKENS` (`name[scopes]:token`): each route
 * and tool needs the scopes the contract gives it, and a token without them gets 403 EINSUFFICIENT_SCOPE with
 * RFC 6750's `insufficient_scope` challenge, before anything is written or streamed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, readConfig } from '../src/config/index.js';
import { gitStatus, startServer, TOKENS, type TestServer } from './helpers/server.js';

const READER = 'reader-token-0123456789';
const WRITER = 'writer-token-0123456789';
const SCOPED_TOKENS = `alice:${TOKENS.alice},reader[changes:read]:${READER},writer[changes:write]:${WRITER}`;

const challenge = (scope: string): string =>
  `Bearer realm="task-mcp", scope="${scope}", error="insufficient_scope", ` +
  `error_description="This request needs the scope ${scope}, which the token does not carry."`;

describe('a scope list on a static token', () => {
  it('is read from brackets after the name; a token without one has every scope', () => {
    const { tokens } = readConfig({
      TASK_MCP_TOKENS: `${SCOPED_TOKENS},both[changes:read changes:write]:a:b]c-0123456789abcdef`,
    });
    assert.deepEqual(tokens, [
      { name: 'alice', token: TOKENS.alice },
      { name: 'reader', token: READER, scopes: ['changes:read'] },
      { name: 'writer', token: WRITER, scopes: ['changes:write'] },
      { name: 'both', token: 'a:b]c-0123456789abcdef', scopes: ['changes:read', 'changes:write'] },
    ]);
  });

  it('stops the server on an unknown or empty list, or a name with an issuer mark, never quoting the token', () => {
    const secret = 'secret-token-0123456789';
    const cases: Array<[string, RegExp]> = [
      [
        `ci[changes:admin]:${secret}`,
        /^TASK_MCP_TOKENS entry 1 \(ci\) must list scopes among changes:read, changes:write in its brackets, not "changes:admin"$/,
      ],
      [`ci[]:${secret}`, /^TASK_MCP_TOKENS entry 1 \(ci\) must list scopes among .* in its brackets$/],
      [`ci[changes:read:${secret}`, /^TASK_MCP_TOKENS entry 1 must be name:token or name\[scopes\]:token/],
      [`carol~kc:${secret}`, /^TASK_MCP_TOKENS entry 1 must be name:token or name\[scopes\]:token/],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => readConfig({ TASK_MCP_TOKENS: value }),
        (err: Error) => err instanceof ConfigError && message.test(err.message) && !err.message.includes(secret),
        `${value} should fail with ${message}`,
      );
    }
  });
});

describe('scopes on the REST routes', () => {
  let s: TestServer;
  before(async () => (s = await startServer({ env: { TASK_MCP_TOKENS: SCOPED_TOKENS } })));
  after(() => s.stop());

  const as = (token: string, path: string, init: RequestInit = {}) =>
    s.fetch(s.url + path, {
      ...init,
      headers: { Authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
    });
  const open = (token: string, slug: string, accept = 'application/json') =>
    as(token, '/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: accept },
      body: JSON.stringify({ title: `Open ${slug}`, slug }),
    });

  it('refuses a tool call without changes:write with 403 and the step-up challenge, writing nothing', async () => {
    for (const accept of ['application/json', 'text/event-stream', 'application/x-ndjson']) {
      const res = await open(READER, 'not-by-a-reader', accept);
      assert.equal(res.status, 403, accept);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.equal(res.headers.get('www-authenticate'), challenge('changes:write'));
      const body = (await res.json()) as { code: string; details: unknown };
      assert.equal(body.code, 'EINSUFFICIENT_SCOPE');
      assert.deepEqual(body.details, { scopes: ['changes:write'], missing: ['changes:write'] });
    }
    assert.equal(await gitStatus(s.repo), '');
  });

  it('lets changes:write call the tools, and not read the feed or sign in for it', async () => {
    assert.equal((await open(WRITER, 'by-a-writer')).status, 200);
    for (const [path, method] of [
      ['/v1/events', 'GET'],
      ['/v1/session', 'POST'],
    ] as const) {
      const res = await as(WRITER, path, { method });
      assert.equal(res.status, 403, path);
      assert.equal(res.headers.get('www-authenticate'), challenge('changes:read'), path);
      assert.equal(((await res.json()) as { code: string }).code, 'EINSUFFICIENT_SCOPE');
    }
    // Signing out needs no scope.
    assert.equal((await as(WRITER, '/v1/session', { method: 'DELETE' })).status, 204);
  });

  it('lets changes:read read the feed, and sign in for a cookie that reads it too but calls nothing', async () => {
    const feed = await as(READER, '/v1/events');
    assert.equal(feed.status, 200);
    assert.equal(feed.headers.get('content-type'), 'text/event-stream');
    await feed.body!.cancel();
    const session = await as(READER, '/v1/session', { method: 'POST' });
    assert.equal(session.status, 200);
    const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
    const byCookie = await s.fetch(`${s.url}/v1/events`, { headers: { Cookie: cookie } });
    assert.equal(byCookie.status, 200);
    await byCookie.body!.cancel();
  });

  it('answers an unknown tool 404 before asking for a scope', async () => {
    const res = await as(READER, '/v1/tools/change.delete/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('www-authenticate'), null);
  });

  it('keeps a token without a list able to do everything', async () => {
    assert.equal((await open(TOKENS.alice, 'by-alice')).status, 200);
    const feed = await as(TOKENS.alice, '/v1/events');
    assert.equal(feed.status, 200);
    await feed.body!.cancel();
  });
});
