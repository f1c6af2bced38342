/**
 * Tracing off (no OTLP endpoint): the OpenTelemetry SDK is never loaded (only the API, which prom-client uses), whatever the server serves, and no span
 * ids reach a log line. (CommonJS packages imported from ES modules are in `require.cache`, as prom-client shows.)
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { mcpRequest } from './helpers/mcp-request.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';

const loaded = (): string[] => Object.keys(createRequire(import.meta.url).cache);

describe('tracing off', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s?.stop());

  it('loads no OpenTelemetry package, and logs no trace ids', async () => {
    const res = await s.fetch(`${s.url}/mcp`, mcpRequest(TOKENS.alice, 'tools/list'));
    assert.equal(res.status, 200);
    await res.text();
    await s.waitForLog((line) => line.msg === 'request completed' && line.transport === 'mcp');
    assert.ok(
      loaded().some((file) => file.includes('/node_modules/prom-client/')),
      'the cache shows packages',
    );
    assert.deepEqual(
      // prom-client loads the API (a no-op without an SDK) for its exemplars; the SDK is what must stay out.
      loaded().filter((file) => /\/node_modules\/@opentelemetry\/(?!api\/)/.test(file)),
      [],
    );
    assert.ok(s.logs().every((line) => !('trace_id' in line) && !('span_id' in line)));
  });
});
