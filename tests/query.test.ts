/**
 * `queryOf`: the query parameters as Koa parses them, without Koa keeping a parse of an empty query string on the
 * request (a stream's request is held for as long as the stream stays open).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { queryOf } from '../src/http/query.js';

describe('queryOf', () => {
  let server: Server;
  let base: string;
  before(async () => {
    const app = new Koa();
    app.use((ctx) => {
      const query = queryOf(ctx);
      const cached = (ctx.request as unknown as { _querycache?: unknown })._querycache !== undefined;
      ctx.body = { query, cached };
    });
    server = createServer(app.callback()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('is the parsed query when the request has one', async () => {
    const res = await fetch(`${base}/v1/events?a=1&b=2&b=3`);
    assert.deepEqual(await res.json(), { query: { a: '1', b: ['2', '3'] }, cached: true });
  });

  it('is an empty object, and Koa caches no parse, when the request has none', async () => {
    const res = await fetch(`${base}/v1/events`);
    assert.deepEqual(await res.json(), { query: {}, cached: false });
  });

  it('is an empty object for a bare "?"', async () => {
    const res = await fetch(`${base}/v1/events?`);
    assert.deepEqual(await res.json(), { query: {}, cached: false });
  });
});
