/**
 * Hostile input at the HTTP surface: malformed, truncated, mistyped, huge and deeply nested bodies on every
 * JSON route; credentials where they do not belong (query strings, forged and expired cookies, cookies on a
 * POST); disallowed Origins; CR/LF in headers and in tool input that an SSE reply echoes. After each case the
 * server is healthy, nothing in the repo changed but what legitimate calls made, and nothing was a 5xx.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { after, afterEach, before, describe, it } from 'node:test';
import { createSessionCookies } from '../src/http/session-cookie.js';
import { assertIntact, assertMcpRefusal, assertNo5xx, assertRefusal, startHostileServer } from './helpers/hostile.js';
import { TOKENS, type TestServer } from './helpers/server.js';

const SECRET = 'hostile-cookie-secret-0123456789abcdef';
const ALLOWED = 'https://app.example.test';
const JSON_ROUTES = ['/mcp', '/messages?sessionId=AAAAAAAAAAAAAAAAAAAAAAAA', '/v1/tools/change.open/invoke'];
const MCP_ACCEPT = 'application/json, text/event-stream';

describe('hostile input over HTTP', () => {
  let s: TestServer;
  const legit = new Set<string>();
  before(async () => {
    s = await startHostileServer({ COOKIE_SECRET: SECRET, CORS_ORIGINS: ALLOWED });
  });
  afterEach(() => assertIntact(s, legit));
  after(() => s.stop());

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    s.authed(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: MCP_ACCEPT, ...headers },
      body,
    });

  it('refuses malformed and truncated JSON on every JSON route with a 4xx problem', async () => {
    const bodies = ['{', '{"slug":', '[1,2', 'nul', '{"a":1}}', '\u0000', '{"a":"\ud800"', "{'a':1}", '\ufeff{}'];
    for (const path of JSON_ROUTES) {
      for (const body of [...bodies, '"text"', '42', '', ' ']) {
        const res = await post(path, body);
        // Some survive the body parser as valid JSON (a BOM, an empty body); then the SDK refuses them, in JSON-RPC.
        if (path === '/mcp') await assertMcpRefusal(res);
        else await assertRefusal(res);
      }
    }
  });

  it('refuses a body that is not application/json with 415, whatever it claims to be', async () => {
    const types = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json'];
    for (const path of JSON_ROUTES) {
      for (const type of types) {
        assert.equal(await assertRefusal(await post(path, '{}', { 'Content-Type': type }), 415), 'EUNSUPPORTED_MEDIA');
      }
    }
  });

  it('refuses a body over MAX_BODY_BYTES with 413 and one nested deeper than 32 levels with 400', async () => {
    const huge = JSON.stringify({ title: 'x'.repeat(2 * 1024 * 1024), slug: 'huge-body' });
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const deepObject = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`;
    for (const path of JSON_ROUTES) {
      assert.equal(await assertRefusal(await post(path, huge), 413), 'ETOOLARGE');
      assert.equal(await assertRefusal(await post(path, deep), 400), 'EBADINPUT');
      assert.equal(await assertRefusal(await post(path, deepObject), 400), 'EBADINPUT');
    }
    // Free-form MCP params within the depth limit still reach the SDK.
    const shallow = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":${'{"a":'.repeat(20)}1${'}'.repeat(20)}}}`;
    assert.equal((await post('/mcp', shallow)).status, 200);
  });

  it('refuses tokens in the query string, even next to a valid header', async () => {
    for (const param of ['access_token', 'token', 'Authorization', 'AUTH']) {
      for (const path of ['/v1/events', '/sse', '/mcp']) {
        const res = await s.authed(`${path}?${param}=${TOKENS.alice}`, path === '/mcp' ? { method: 'POST' } : {});
        assert.equal(await assertRefusal(res, 401), 'EAUTH');
      }
    }
    assert.doesNotMatch(s.rawLogs(), new RegExp(TOKENS.alice));
  });

  it('refuses forged, tampered, foreign and expired session cookies, and any cookie on a POST', async () => {
    const ours = createSessionCookies({ secret: SECRET, ttlSeconds: 60, crossSite: false });
    const foreign = createSessionCookies({
      secret: 'another-secret-0123456789abcdefghij',
      ttlSeconds: 60,
      crossSite: false,
    });
    const fresh = ours.issue('alice', new Date()).value;
    const cookies = [
      'v1.alice.9999999999.forged',
      fresh.slice(0, -2) + (fresh.endsWith('AA') ? 'BB' : 'AA'),
      foreign.issue('alice', new Date()).value,
      ours.issue('alice', new Date(Date.now() - 3_600_000)).value,
      'x'.repeat(4000),
      '%00%0d%0a',
    ];
    for (const cookie of cookies) {
      const res = await s.fetch(`${s.url}/v1/events`, { headers: { Cookie: `task_mcp_session=${cookie}` } });
      assert.equal(await assertRefusal(res, 401), 'EAUTH', cookie);
    }
    const res = await s.fetch(`${s.url}/v1/tools/change.open/invoke`, {
      method: 'POST',
      headers: { Cookie: `task_mcp_session=${fresh}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ slug: 'cookie-post', title: 'Via cookie' }),
    });
    assert.equal(await assertRefusal(res, 401), 'EAUTH');
  });

  it('refuses a disallowed Origin on /mcp and gives it no CORS grant elsewhere', async () => {
    for (const origin of [
      'https://evil.example.test',
      'null',
      `${ALLOWED}.evil.test`,
      'https://app.example.test:444',
    ]) {
      const res = await post('/mcp', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), {
        Origin: origin,
      });
      assert.equal(await assertRefusal(res, 403), 'EFORBIDDEN');
      const other = await s.authed('/v1/tools/nope/invoke', { method: 'POST', headers: { Origin: origin } });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      await assertNo5xx(other);
    }
  });

  it('never lets CR/LF in X-Request-Id through to a response header', async () => {
    const injections = ['abc\r\nX-Injected: 1', 'abc\nX-Injected: 1', 'abc\rX-Injected: 1', 'a\r\n b', 'caf\xe9'];
    for (const value of injections) {
      const head = await rawRequest(s.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${value}\r\n\r\n`);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      assert.ok(status === 200 || status === 400, `status ${status} for ${JSON.stringify(value)}`);
      assert.doesNotMatch(head, /^X-Injected/im);
      const id = /^X-Request-Id: (.*)$/im.exec(head)?.[1];
      if (id !== undefined) assert.match(id, /^[A-Za-z0-9._:-]{1,128}\r?$/);
    }
  });

  it('keeps tool input echoed into SSE and NDJSON replies inside its data fields', async () => {
    const titles = [
      'evil\r\n\r\nevent: result\r\ndata: {}',
      'line\u2028sep\u0085next\u0000nul',
      'ok title: data: id: 9',
    ];
    let i = 0;
    for (const title of titles) {
      for (const accept of ['text/event-stream', 'application/x-ndjson']) {
        const slug = `echo-${i++}`;
        const res = await post('/v1/tools/change.open/invoke', JSON.stringify({ slug, title }), { Accept: accept });
        if (res.status !== 200) {
          await assertRefusal(res, 400);
          continue;
        }
        legit.add(slug);
        const text = await res.text();
        for (const line of text.split('\n').filter(Boolean)) {
          if (accept === 'text/event-stream') assert.match(line, /^(?:event|data|id|retry): |^:/, line);
          else JSON.parse(line);
        }
      }
    }
  });
});

/** Sends `request` as raw bytes over TLS (fetch refuses to send malformed headers) and returns the reply's head. */
async function rawRequest(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () =>
      socket.end(Buffer.from(request, 'latin1')),
    );
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
    socket.on('end', () => resolve(reply.split('\r\n\r\n')[0]!));
    socket.on('error', reject);
  });
}
