/**
 * Tracing on, the collector down: requests are served as ever, the failing export is logged once (without the
 * export headers, which may hold an API key), and the log says so again once the collector answers.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { freePort } from './helpers/free-port.js';
import { startServer, type TestServer } from './helpers/server.js';

const API_KEY = 'collector-api-key-0123456789';

describe('tracing with an unreachable collector', () => {
  let s: TestServer;
  let port: number;
  before(async () => {
    port = await freePort();
    s = await startServer({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${API_KEY}`,
        OTEL_BSP_SCHEDULE_DELAY: '50',
        OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
      },
    });
  });
  after(() => s?.stop());

  it('serves, logs the failed export once without its headers, then logs the recovery', async () => {
    assert.equal((await s.fetch(`${s.url}/healthz`)).status, 200);
    await s.waitForLog(
      (line) => line.msg === 'exporting traces failed; spans are dropped until the collector answers',
      15_000,
    );
    assert.equal((await s.fetch(`${s.url}/healthz`)).status, 200);
    assert.ok(!s.rawLogs().includes(API_KEY), 'the export headers are in no log line');

    const received: string[] = [];
    const collector = createServer((req, res) => {
      received.push(String(req.headers['x-api-key']));
      req.resume().on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((resolve) => collector.listen(port, '127.0.0.1', resolve));
    try {
      assert.equal((await s.fetch(`${s.url}/healthz`)).status, 200);
      await s.waitForLog((line) => line.msg === 'exporting traces works again', 15_000);
      assert.equal(received[0], API_KEY, 'the export carried its header');
      const failures = s.logs().filter((line) => String(line.msg).startsWith('exporting traces failed'));
      assert.equal(failures.length, 1, 'logged once, not at every failed batch');
    } finally {
      const closed = new Promise((resolve) => collector.close(resolve));
      collector.closeAllConnections();
      await closed;
    }
  });
});
