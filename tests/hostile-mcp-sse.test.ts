/**
 * Hostile input on MCP's SSE streams: junk posted to a live HTTP+SSE session (2024-11-05 transport), each case
 * with its exact status, code and what reaches the stream; the well-formed messages it must still take; and input
 * that passes validation but carries CR/LF and SSE field names, which must stay inside one event's data.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { assertIntact, startHostileServer } from './helpers/hostile.js';
import { openSession, postMessage, type SseSession } from './helpers/legacy-sse.js';
import { rpcAt } from './helpers/mcp-rpc.js';
import { TOKENS, type TestServer } from './helpers/server.js';

/** Fields a payload tries to smuggle into the stream as events of their own. */
const INJECTION = 'evil\r\n\r\nevent: endpoint\r\ndata: messages?sessionId=hijacked\n\nid: 9\rretry: 1';

/** Every line of an SSE stream is a field, a comment or the blank line ending an event. */
function assertSseLines(text: string): void {
  for (const line of text.split('\n')) assert.match(line, /^(?:(?:event|data|id|retry): [^\r]*|:[^\r]*|)$/, line);
  assert.doesNotMatch(text, /\r/, 'no bare CR: SSE reads it as a line end');
}

describe('hostile messages on a live HTTP+SSE session', () => {
  let s: TestServer;
  let session: SseSession;
  const legit = new Set<string>();
  before(async () => {
    s = await startHostileServer();
    session = await openSession(s);
    assert.equal((await session.initialize('2025-11-25')).result?.protocolVersion, '2025-11-25');
  });
  afterEach(() => assertIntact(s, legit));
  after(async () => {
    await session.cancel();
    await s.stop();
  });

  /** Posts `body`; the next event on the stream must answer `ping` posted right after, so `body` sent nothing. */
  const assertNothingReachedTheStream = async (what: string) => {
    const res = await session.post({ jsonrpc: '2.0', id: `after ${what}`, method: 'ping' });
    assert.equal(res.status, 202);
    assert.deepEqual(await session.next(), { jsonrpc: '2.0', id: `after ${what}`, result: {} }, what);
  };

  it('refuses each malformed message with 400 EBADINPUT naming what is wrong, and sends nothing on the stream', async () => {
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const cases: Array<[string, unknown, string[]]> = [
      ['an empty object', {}, ['body']],
      ['an empty batch', [], ['body']],
      ['a batch', [ping, { ...ping, id: 2 }], ['body']],
      ['an id and nothing else', { jsonrpc: '2.0', id: 7 }, ['body']],
      ['JSON-RPC 1.0', { jsonrpc: '1.0', id: 8, method: 'ping' }, ['body/jsonrpc']],
      ['no jsonrpc', { id: 9, method: 'ping' }, ['body/jsonrpc']],
      ['params: null', { jsonrpc: '2.0', id: 10, method: 'ping', params: null }, ['body/params']],
      ['params as a string', { jsonrpc: '2.0', id: 11, method: 'ping', params: 'all' }, ['body/params']],
      ['a numeric method', { jsonrpc: '2.0', id: 12, method: 42 }, ['body/method']],
      ['an id past the safe integers', '{"jsonrpc":"2.0","id":1e308,"method":"ping"}', ['body/id']],
      ['an object id', { jsonrpc: '2.0', id: {}, method: 'ping' }, ['body/id']],
      ['a null id', { jsonrpc: '2.0', id: null, method: 'ping' }, ['body/id']],
      ['an unknown member', { ...ping, extra: true }, ['body']],
      ['a result that is not an object', { jsonrpc: '2.0', id: 13, result: 5 }, ['body']],
    ];
    for (const [what, body, locations] of cases) {
      const res = await session.post(body);
      assert.equal(res.status, 400, what);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
      const problem = (await res.json()) as { code: string; errors: { location: string; message: string }[] };
      assert.equal(problem.code, 'EBADINPUT', what);
      assert.deepEqual(
        problem.errors.map((e) => e.location),
        locations,
        what,
      );
      assert.doesNotMatch(JSON.stringify(problem), /invalid_union|"expected":|\n\s+at /, `${what}: raw zod or a stack`);
    }
    await assertNothingReachedTheStream('the malformed messages');
  });

  it('answers junk for an unknown or foreign session with 404 ENOSESSION: the session is looked up first', async () => {
    for (const endpoint of ['messages?sessionId=AAAAAAAAAAAAAAAAAAAAAAAA', session.endpoint]) {
      const token = endpoint === session.endpoint ? TOKENS.bob : TOKENS.alice;
      for (const body of [{}, [], { jsonrpc: '1.0', id: 8, method: 'ping' }]) {
        const res = await postMessage(s, endpoint, body, token);
        assert.equal(res.status, 404, `${endpoint} ${JSON.stringify(body)}`);
        assert.equal(((await res.json()) as { code: string }).code, 'ENOSESSION');
      }
    }
    await assertNothingReachedTheStream('posts to other sessions');
  });

  it('refuses a scalar body as not JSON-RPC either way: 400 EBADJSON from the body parser', async () => {
    for (const body of ['"text"', '42', 'null']) {
      const res = await session.post(body);
      assert.equal(res.status, 400, body);
      assert.equal(((await res.json()) as { code: string }).code, 'EBADJSON', body);
    }
    await assertNothingReachedTheStream('scalars');
  });

  it('answers a bad initialize on the stream with -32602 and its id, naming each param, not -32603', async () => {
    const res = await session.post({ jsonrpc: '2.0', id: 'bad-init', method: 'initialize', params: {} });
    assert.equal(res.status, 202, 'a well-formed request: its reply goes on the stream');
    const reply = await session.next();
    assert.equal(reply.id, 'bad-init');
    assert.equal(reply.error?.code, -32602);
    assert.equal(reply.error.data?.code, 'EBADINPUT');
    assert.deepEqual(
      (reply.error.data?.errors as { location: string }[]).map((e) => e.location),
      ['params/protocolVersion', 'params/capabilities', 'params/clientInfo'],
    );
    assert.match(reply.error.message, /^Invalid params for initialize: params\/protocolVersion: /);
  });

  it('takes every well-formed message with 202: a request is answered, a notification or a response is not', async () => {
    for (const body of [
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 'theirs', result: {} },
      { jsonrpc: '2.0', id: 'theirs', error: { code: -32601, message: 'Method not found' } },
    ]) {
      assert.equal((await session.post(body)).status, 202, JSON.stringify(body));
    }
    await assertNothingReachedTheStream('notifications and responses');
    const unknown = await session.request({ id: 'no-such', method: 'no/such/method' });
    assert.deepEqual(unknown.error, { code: -32601, message: 'Method not found' });
    const listed = await session.request({ id: 'list', method: 'tools/list' });
    assert.deepEqual(
      (listed.result?.tools as { name: string }[]).map((t) => t.name),
      ['change_open', 'change_archive'],
    );
  });

  it('keeps CR/LF and SSE field names in a valid string id inside the reply event', async () => {
    const reply = await session.request({ id: INJECTION, method: 'ping' });
    assert.deepEqual(reply, { jsonrpc: '2.0', id: INJECTION, result: {} });
    assertSseLines(await session.until(() => true));
  });

  it('keeps CR/LF and SSE field names in a valid rationale inside one event, on both SSE transports', async () => {
    const rationale = `Why:${INJECTION}`;
    const opened = await session.request({
      id: 'open',
      method: 'tools/call',
      params: { name: 'change_open', arguments: { slug: 'framed', title: 'Framed', rationale } },
    });
    assert.equal(opened.result?.isError, undefined, JSON.stringify(opened));
    legit.add('framed');
    const uri = 'change://framed/proposal';
    const read = await session.request({ id: 'read', method: 'resources/read', params: { uri } });
    const [content] = read.result?.contents as { text: string }[];
    assert.ok(content!.text.includes(rationale), 'the proposal carries the rationale as written');
    assertSseLines(await session.until(() => true));
    // The same read as a 2025-era Streamable HTTP client, whose reply the SDK frames as SSE.
    const streamed = await s.authed('/mcp', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'text/event-stream, application/json',
        'MCP-Protocol-Version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri } }),
    });
    assert.equal(streamed.headers.get('content-type')?.split(';')[0], 'text/event-stream');
    const text = await streamed.text();
    assertSseLines(text);
    assert.equal(text.match(/^data: /gm)?.length, 1, 'one data line: one event');
    const again = await rpcAt(s, '2026-07-28', 'resources/read', { uri });
    assert.equal((again.messages[0]?.result?.contents as { text: string }[])[0]!.text, content!.text);
  });
});
