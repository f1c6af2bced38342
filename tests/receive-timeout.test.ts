/**
 * RECEIVE_TIMEOUT_MS on the real server over real TLS sockets: a request whose headers or body stall gets 408
 * problem+json `ERECEIVE_TIMEOUT` and its connection closed, on every route that reads a body, and gives back the
 * call slot it held; a response that streams for longer than the bound is not cut.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { describe, it } from 'node:test';
import { TOKENS, type TestServer, useServer } from './helpers/server.js';
import { testCertificate } from './helpers/tls.js';
import { within } from './helpers/within.js';

const RECEIVE_TIMEOUT_MS = 400;

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `head` (request line and headers, without the blank line when `partialHead`) and `bodyPart`, then nothing
 * more; resolves with what the server answered once it closed the connection.
 */
async function stall(s: TestServer, head: string, bodyPart = '', partialHead = false): Promise<RawReply> {
  const { cert } = await testCertificate();
  const { port } = new URL(s.url);
  const socket = connect({ host: '127.0.0.1', port: Number(port), ca: cert, servername: 'localhost' });
  let raw = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.write(partialHead ? head : `${head}\r\n${bodyPart}`);
  await within(10 * RECEIVE_TIMEOUT_MS + 5000, 'the server to close the stalled request', closed);
  const [top = '', body = ''] = raw.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = top.split('\r\n');
  const headers = Object.fromEntries(
    headerLines.map((line) => [
      line.slice(0, line.indexOf(':')).toLowerCase(),
      line.slice(line.indexOf(':') + 1).trim(),
    ]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

/** A POST whose headers promise 100 bytes of body. */
const post = (path: string, accept: string, reqId: string) =>
  [
    `POST ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    `Authorization: Bearer ${TOKENS.alice}`,
    'Content-Type: application/json',
    `Accept: ${accept}`,
    `X-Request-Id: ${reqId}`,
    'Content-Length: 100',
    '',
  ].join('\r\n');

function assertTimedOut(reply: RawReply, reqId: string): void {
  assert.equal(reply.status, 408, JSON.stringify(reply));
  assert.equal(reply.headers['content-type'], 'application/problem+json');
  assert.equal(reply.headers['connection'], 'close');
  const problem = JSON.parse(reply.body) as { code: string; status: number; requestId: string };
  assert.equal(problem.code, 'ERECEIVE_TIMEOUT');
  assert.equal(problem.status, 408);
  assert.equal(problem.requestId, reqId);
}

describe('receiving a request is bounded by RECEIVE_TIMEOUT_MS', () => {
  const s = useServer({
    env: {
      RECEIVE_TIMEOUT_MS: String(RECEIVE_TIMEOUT_MS),
      HEARTBEAT_MS: '50',
      MAX_CALLS_PER_CLIENT: '3',
      RATE_LIMIT_BURST: '10000/1s',
    },
  });

  it('answers 408 ERECEIVE_TIMEOUT to bodies that stall on /mcp, SSE and NDJSON invokes and /messages', async () => {
    const cut = new AbortController();
    const sse = await s.authed('/sse', { signal: cut.signal });
    const reader = sse.body!.getReader();
    let text = '';
    while (!text.includes('event: endpoint')) text += new TextDecoder().decode((await reader.read()).value);
    const endpoint = /data: (messages\?sessionId=\S+)\n/.exec(text)![1]!;

    try {
      // Twice: the three stalled calls fill alice's call cap, so a slot the first round kept would turn one
      // request of the second round into a 429.
      for (const round of [1, 2]) {
        const part = '{"jsonrpc"'.slice(0, 8); // 8 of the 100 bytes the headers promise
        const ids = ['mcp', 'sse', 'ndjson', 'messages'].map((kind) => `stall-${round}-${kind}`);
        const replies = await Promise.all([
          stall(s, post('/mcp', 'application/json, text/event-stream', ids[0]!), part),
          stall(s, post('/v1/tools/change.open/invoke', 'text/event-stream', ids[1]!), part),
          stall(s, post('/v1/tools/change.open/invoke', 'application/x-ndjson', ids[2]!), part),
          stall(s, post(`/${endpoint}`, 'application/json', ids[3]!), part),
        ]);
        replies.forEach((reply, i) => assertTimedOut(reply, ids[i]!));
        const logged = s.logs().filter((line) => ids.includes(String(line.reqId)));
        assert.deepEqual(
          logged.map((line) => (line.res as { status: number }).status),
          [408, 408, 408, 408],
        );
      }
    } finally {
      cut.abort();
    }
  });

  it('answers 408 ERECEIVE_TIMEOUT to headers that never end', async () => {
    const reply = await stall(s, 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appli', '', true);
    assert.equal(reply.status, 408);
    assert.equal(reply.headers['content-type'], 'application/problem+json');
    const problem = JSON.parse(reply.body) as { code: string; requestId: string };
    assert.equal(problem.code, 'ERECEIVE_TIMEOUT');
    assert.equal(problem.requestId, reply.headers['x-request-id']);
  });

  it('does not cut a response that streams for longer than the bound', async () => {
    const cut = new AbortController();
    const res = await s.authed('/v1/events', { signal: cut.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    // 30 heartbeats 50 ms apart outlast the 400 ms bound (and Node's check of it) several times over.
    let beats = 0;
    try {
      while (beats < 30) {
        const { value, done } = await within(5000, 'a heartbeat', reader.read());
        assert.ok(!done, `the stream ended after ${beats} heartbeats`);
        beats += new TextDecoder().decode(value).split(': ping').length - 1;
      }
    } finally {
      cut.abort();
    }
  });
});
