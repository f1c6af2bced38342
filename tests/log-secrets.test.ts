/**
 * Whatever a line of the server's log carries, a request's or a response's headers never reach it: a `req` or `res`
 * is reduced to its method and path or its status by the root logger (a raw request carries its token in
 * `rawHeaders` too, which no redaction path named), and an error's `headers` are redacted.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { useServer } from './helpers/server.js';

const SECRET = 'Bearer secret-token-never-logged';

/** One real request and its response, as node:http hands them to a server. */
async function realExchange(): Promise<{ req: IncomingMessage; res: ServerResponse; done: () => Promise<void> }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const arrived = once(server, 'request') as Promise<[IncomingMessage, ServerResponse]>;
  const client = request({
    port,
    host: '127.0.0.1',
    path: '/v1/changes?token=abc',
    headers: { Authorization: SECRET },
  });
  client.end();
  const [req, res] = await arrived;
  res.statusCode = 418;
  const answered = once(client, 'response');
  return {
    req,
    res,
    async done() {
      res.end();
      const [response] = (await answered) as [IncomingMessage];
      response.resume();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('secrets in the log', () => {
  const s = useServer();

  it('reduces a logged request to its method and path, and a response to its status', async () => {
    const { req, res, done } = await realExchange();
    try {
      s.server.logger.info({ req, res }, 'raw exchange');
      const line = await s.waitForLog((record) => record.msg === 'raw exchange');
      assert.deepEqual(line.req, { method: 'GET', path: '/v1/changes' });
      assert.deepEqual(line.res, { status: 418 });
      assert.ok(!s.rawLogs().includes('secret-token-never-logged'), 'a header reached the log');
    } finally {
      await done();
    }
  });

  it("redacts an error's headers", async () => {
    const err = Object.assign(new Error('upstream refused'), { headers: { authorization: SECRET } });
    s.server.logger.warn({ err }, 'upstream failure');
    const line = await s.waitForLog((record) => record.msg === 'upstream failure');
    assert.equal((line.err as { headers: unknown }).headers, '[redacted]');
    assert.equal((line.err as { message: unknown }).message, 'upstream refused');
  });

  it('logs a `req` or `res` that is no request or response without failing', async () => {
    s.server.logger.info({ req: null, res: 'gone' }, 'odd fields');
    const line = await s.waitForLog((record) => record.msg === 'odd fields');
    assert.deepEqual(line.req, {});
    assert.deepEqual(line.res, {});
  });
});
