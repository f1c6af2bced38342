/**
 * Hostile input at the HTTP surface: malformed, truncated, mistyped, huge and deeply nested bodies on every
 * JSON route; credentials where they do not belong (query strings, forged and expired cookies, cookies on a
 * POST); disallowed Origins; CR/LF in headers and in tool input streamed back over SSE and NDJSON. Each case gets
 * its exact answer (status and problem code, or JSON-RPC error); after each, the server is healthy and nothing in
 * the repo changed but what legitimate calls made.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { afterEach, describe, it } from 'node:test';
import { createSessionCookies } from '../src/http/session-cookie.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { assertIntact, assertJsonRpcError, assertRefusal, repoChanges, useHostileServer } from './helpers/hostile.js';
import { TOKENS } from './helpers/server.js';

const SECRET = 'hostile-cookie-secret-0123456789abcdef';
const ALLOWED = 'https://app.example.test';
const MCP = '/mcp';
const MESSAGES = '/messages?sessionId=AAAAAAAAAAAAAAAAAAAAAAAA';
const INVOKE = '/v1/tools/change.open/invoke';
const JSON_ROUTES = [MCP, MESSAGES, INVOKE];
const MCP_ACCEPT = 'application/json, text/event-stream';

describe('hostile input over HTTP', () => {
  const s = useHostileServer({ COOKIE_SECRET: SECRET, CORS_ORIGINS: ALLOWED });
  const legit = new Set<string>();
  afterEach(() => assertIntact(s, legit));

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    s.authed(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: MCP_ACCEPT, ...headers },
      body,
    });

  it('refuses malformed and truncated JSON on every JSON route with 400 EBADJSON', async () => {
    const malformed = ['{', '{"slug":', '[1,2', 'nul', '{"a":1}}', '\u0000', '{"a":"\ud800"', "{'a':1}", ' '];
    // The body parser is strict: a top-level scalar is refused as no JSON body too.
    const scalars = ['"text"', '42'];
    for (const path of JSON_ROUTES) {
      for (const body of [...malformed, ...scalars]) await assertRefusal(await post(path, body), 400, 'EBADJSON');
    }
  });

  it('reads an empty body and a BOM before {} as {}, which each route then refuses for what it is', async () => {
    for (const body of ['', '\ufeff{}']) {
      // The SDK's own answer to JSON that is no JSON-RPC message: Invalid Request.
      await assertJsonRpcError(await post(MCP, body), 400, -32600);
      await assertRefusal(await post(MESSAGES, body), 404, 'ENOSESSION');
      await assertRefusal(await post(INVOKE, body), 400, 'EBADINPUT');
    }
  });

  it('refuses a body that is not application/json with 415, whatever it claims to be', async () => {
    const types = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json'];
    for (const path of JSON_ROUTES) {
      for (const type of types) {
        await assertRefusal(await post(path, '{}', { 'Content-Type': type }), 415, 'EUNSUPPORTED_MEDIA');
      }
    }
  });

  it('refuses a body over MAX_BODY_BYTES with 413 and one nested deeper than 32 levels with 400', async () => {
    const huge = JSON.stringify({ title: 'x'.repeat(2 * 1024 * 1024), slug: 'huge-body' });
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const deepObject = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`;
    for (const path of JSON_ROUTES) {
      await assertRefusal(await post(path, huge), 413, 'ETOOLARGE');
      await assertRefusal(await post(path, deep), 400, 'EBADINPUT');
      await assertRefusal(await post(path, deepObject), 400, 'EBADINPUT');
    }
    // Free-form MCP params within the depth limit still reach the SDK.
    const shallow = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":${'{"a":'.repeat(20)}1${'}'.repeat(20)}}}`;
    assert.equal((await post('/mcp', shallow)).status, 200);
  });

  it('refuses tokens in the query string, even next to a valid header', async () => {
    for (const param of ['access_token', 'token', 'Authorization', 'AUTH']) {
      for (const path of ['/v1/events', '/sse', '/mcp']) {
        const res = await s.authed(`${path}?${param}=${TOKENS.alice}`, path === '/mcp' ? { method: 'POST' } : {});
        await assertRefusal(res, 401, 'EAUTH');
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
      await assertRefusal(res, 401, 'EAUTH');
    }
    const res = await s.fetch(`${s.url}/v1/tools/change.open/invoke`, {
      method: 'POST',
      headers: { Cookie: `task_mcp_session=${fresh}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ slug: 'cookie-post', title: 'Via cookie' }),
    });
    await assertRefusal(res, 401, 'EAUTH');
  });

  it('refuses a disallowed Origin on /mcp and on every other route, with no CORS grant', async () => {
    for (const origin of [
      'https://evil.example.test',
      'null',
      `${ALLOWED}.evil.test`,
      'https://app.example.test:444',
    ]) {
      const res = await post('/mcp', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), {
        Origin: origin,
      });
      await assertRefusal(res, 403, 'EFORBIDDEN');
      const other = await post('/v1/tools/nope/invoke', '{}', { Origin: origin });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      await assertRefusal(other, 403, 'EFORBIDDEN');
    }
  });

  it('never lets CR/LF in X-Request-Id through to a response header', async () => {
    const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    // [sent value, status, the reply's X-Request-Id]: CRLF ends the header (the rest is a header of its own, never
    // echoed); a bare CR or LF and an obsolete line fold are refused by Node's parser (400, no id); a value outside
    // the id alphabet is replaced by a fresh id.
    const cases: Array<[string, number, string | RegExp | undefined]> = [
      ['abc\r\nX-Injected: 1', 200, 'abc'],
      ['abc\nX-Injected: 1', 400, undefined],
      ['abc\rX-Injected: 1', 400, undefined],
      ['a\r\n b', 400, undefined],
      ['caf\xe9', 200, UUID],
    ];
    for (const [value, status, id] of cases) {
      const head = await rawRequest(s.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${value}\r\n\r\n`);
      const what = JSON.stringify(value);
      assert.equal(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), status, `${what}: ${head}`);
      assert.doesNotMatch(head, /^X-Injected/im);
      const sent = /^X-Request-Id: (.*)$/im.exec(head)?.[1];
      if (id instanceof RegExp) assert.match(sent ?? '', id, what);
      else assert.equal(sent, id, what);
    }
  });

  /** The events of a streamed reply, checking every SSE line is a field or a comment and every NDJSON line JSON. */
  const streamedEvents = async (res: Response, accept: string): Promise<Array<Record<string, unknown>>> => {
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type')?.split(';')[0], accept);
    const lines = (await res.text()).split('\n').filter(Boolean);
    if (accept === 'application/x-ndjson') return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of lines) assert.match(line, /^(?:event|data|id|retry): |^:/, line);
    return lines.filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6)));
  };
  const STREAMS = ['text/event-stream', 'application/x-ndjson'];
  /** NDJSON closes with an `end` event; SSE with the end of the body. */
  const closing = (accept: string): string[] => (accept === 'application/x-ndjson' ? ['end'] : []);

  it('streams accepted input with line separators, NUL and CR/LF (in the rationale) as whole events', async () => {
    const title = 'line\u2028sep\u2029para\u0085next\u0000nul data: x event: y id: 9';
    const rationale = 'why\r\n\r\nevent: result\r\ndata: {}\n\nid: 7\r';
    for (const [i, accept] of STREAMS.entries()) {
      const slug = `echo-${i}`;
      const res = await post(INVOKE, JSON.stringify({ slug, title, rationale }), { Accept: accept });
      const events = await streamedEvents(res, accept);
      legit.add(slug);
      const types = events.map((e) => e.type).filter((type) => type !== 'progress' && type !== 'heartbeat');
      assert.deepEqual(types, ['start', 'result', ...closing(accept)]);
      const proposal = await readFile(path.join(s.repo.root, 'openspec/changes', slug, 'proposal.md'), 'utf8');
      assert.ok(proposal.includes(title), 'the title reached the proposal as sent');
    }
  });

  it('refuses a title with CR/LF before any stream starts: 400 EBADINPUT at body/title, nothing framed', async () => {
    for (const [i, accept] of STREAMS.entries()) {
      const body = JSON.stringify({ slug: `crlf-${i}`, title: 'evil\r\n\r\nevent: result\r\ndata: {}' });
      const problem = await assertRefusal(await post(INVOKE, body, { Accept: accept }), 400, 'EBADINPUT');
      assert.deepEqual(
        problem.errors?.map((issue) => issue.location),
        ['body/title'],
      );
    }
    assert.deepEqual(
      repoChanges(s).filter((file) => file.includes('crlf-')),
      [],
    );
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
