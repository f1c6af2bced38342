/**
 * The `/metrics` listener on the real server: off unless `METRICS_PORT` is set, apart from the API's listener,
 * refusing a scrape without `METRICS_TOKEN` when one is set, and stopped with the server.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { scrape, valueOf } from './helpers/exposition.js';
import { createTempRepo } from './helpers/repo.js';
import { startServer, type TestServer } from './helpers/server.js';

const SCRAPE_TOKEN = 'scrape-token-0123456789abcdef';

describe('metrics listener, with METRICS_TOKEN', () => {
  let s: TestServer;
  let metricsUrl: string;
  before(async () => {
    s = await startServer({ env: { METRICS_PORT: '0', METRICS_TOKEN: SCRAPE_TOKEN } });
    metricsUrl = `${s.server.metricsUrl}/metrics`;
  });
  after(() => s.stop());

  it('listens on its own port of loopback, announced in the log', async () => {
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.notEqual(new URL(metricsUrl).port, new URL(s.url).port);
    const line = await s.waitForLog((r) => r.msg === 'metrics listening');
    assert.equal(line.url, s.server.metricsUrl);
    assert.equal(line.tokenRequired, true);
  });

  it('refuses a scrape without the token, or with another, with 401 and a Bearer challenge', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer not-the-scrape-token-000' },
      { Authorization: SCRAPE_TOKEN },
    ];
    for (const headers of attempts) {
      const res = await fetch(metricsUrl, { headers });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      assert.equal(await res.text(), 'A bearer token is required.\n');
    }
  });

  it('serves the Prometheus text format to a scrape with the token', async () => {
    const res = await fetch(metricsUrl, { headers: { Authorization: `Bearer ${SCRAPE_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await res.text();
    assert.match(body, /^# TYPE http_server_request_duration_seconds histogram$/m);
    assert.match(body, /^process_resident_memory_bytes \d+$/m);
    assert.ok(!s.rawLogs().includes(SCRAPE_TOKEN), 'the token is in no log line');
  });

  it('answers 404 off /metrics and 405 to a method other than GET or HEAD', async () => {
    const auth = { Authorization: `Bearer ${SCRAPE_TOKEN}` };
    assert.equal((await fetch(`${s.server.metricsUrl}/healthz`, { headers: auth })).status, 404);
    const post = await fetch(metricsUrl, { method: 'POST', headers: auth });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(metricsUrl, { method: 'HEAD', headers: auth });
    assert.equal(head.status, 200);
  });

  it('reads the query string off the path, and answers a request target that is no URL with 404', async () => {
    const auth = { Authorization: `Bearer ${SCRAPE_TOKEN}` };
    assert.equal((await fetch(`${metricsUrl}?debug=1`, { headers: auth })).status, 200);
    const { port } = new URL(metricsUrl);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.end(`GET http://[/metrics HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth.Authorization}\r\n\r\n`);
    let reply = '';
    for await (const chunk of socket) reply += String(chunk);
    assert.match(reply, /^HTTP\/1\.1 404 /);
    assert.equal((await fetch(metricsUrl, { headers: auth })).status, 200, 'still serving');
  });

  it("is not served on the API's listener", async () => {
    const res = await s.authed('/metrics');
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'ENOTFOUND');
  });
});

describe('metrics listener, off by default', () => {
  it('is not started without METRICS_PORT', async () => {
    const s = await startServer();
    try {
      assert.equal(s.server.metricsUrl, undefined);
      await s.waitForLog((r) => r.msg === 'listening');
      assert.equal(
        s.logs().find((r) => r.msg === 'metrics listening'),
        undefined,
      );
    } finally {
      await s.stop();
    }
  });

  it('reports a drain, and stops with the server', async () => {
    const s = await startServer({ env: { METRICS_PORT: '0' } });
    const url = `${s.server.metricsUrl}/metrics`;
    assert.equal((await fetch(url)).status, 200, 'no token asked when METRICS_TOKEN is unset');
    s.server.lifecycle.drain();
    const draining = await scrape(s.server.metricsUrl);
    assert.equal(valueOf(draining, 'task_mcp_readiness_check', { check: 'draining', state: 'fail' }), 1);
    await s.stop();
    await assert.rejects(fetch(url), (err: Error) => (err.cause as { code?: string }).code === 'ECONNREFUSED');
  });

  it('stops the start when its port is taken, leaving nothing listening', async () => {
    const squatter = createServer().listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const repo = await createTempRepo();
    try {
      const port = (squatter.address() as AddressInfo).port;
      await assert.rejects(
        startServer({ repo, env: { METRICS_PORT: String(port) } }),
        (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE',
      );
    } finally {
      squatter.close();
      await repo.remove();
    }
  });
});
