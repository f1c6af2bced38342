/**
 * WORKERS=2 with METRICS_PORT: src/main.ts as a real node:cluster primary of two workers, and the primary serves
 * the one `/metrics` of the instance, the workers' metrics added up (each worker opens no listener of its own).
 */
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { freePort } from './helpers/free-port.js';
import { scrape, valueOf } from './helpers/exposition.js';
import { createTempRepo, type TempRepo } from './helpers/repo.js';
import { CLUSTER_START_MS, startServerProcess, type Line, type ServerProcess } from './helpers/server-process.js';
import { TOKENS } from './helpers/server.js';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const REQUESTS = 6;

/** GET `url` on a connection of its own (the primary deals connections, not requests, to its workers). */
const healthz = (url: string): Promise<number> =>
  new Promise((resolve, reject) => {
    get(`${url}/healthz`, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    }).on('error', reject);
  });

describe('WORKERS=2: one /metrics for all workers, served by the primary', () => {
  let repo: TempRepo;
  let primary: ServerProcess;
  let api: string;
  let metricsUrl: string;
  const logged = (msg: string): Promise<Line> =>
    primary.line((line) => line.msg === msg, msg, { ms: CLUSTER_START_MS });

  before(async () => {
    repo = await createTempRepo();
    primary = await startServerProcess(MAIN, {
      startMs: CLUSTER_START_MS,
      env: {
        WORKERS: '2',
        WORKERS_WITHOUT_REDIS: '1',
        HOST: '127.0.0.1',
        PORT: String(await freePort()),
        TLS: 'off',
        TASK_MCP_TOKENS: `alice:${TOKENS.alice}`,
        REPO_ROOT: repo.root,
        METRICS_PORT: String(await freePort()),
        MAX_STREAMS: '7',
        LOG_LEVEL: 'info',
      },
    });
    metricsUrl = (await logged('metrics listening, for all workers')).url as string;
    api = (await logged('workers listening')).url as string;
  });
  after(async () => {
    await primary?.stop();
    await repo?.remove();
  });

  it("adds up both workers' requests and limits, and reads readiness across them", async () => {
    for (let i = 0; i < REQUESTS; i++) assert.equal(await healthz(api), 200);
    const lines = (): Line[] => primary.lines().filter((line) => line.msg === 'request completed');
    await primary.line(() => lines().length === REQUESTS, 'every request logged');
    const servers = new Set(lines().map((line) => line.pid));
    assert.equal(servers.size, 2, 'round-robin gave each worker some of the connections');

    const samples = await scrape(metricsUrl);
    const route = { http_route: '/healthz', http_request_method: 'GET', http_response_status_code: '200' };
    assert.equal(valueOf(samples, 'http_server_request_duration_seconds_count', route), REQUESTS);
    assert.equal(valueOf(samples, 'task_mcp_stream_limit'), 14, 'MAX_STREAMS=7 on each of two workers');
    assert.equal(valueOf(samples, 'task_mcp_readiness_check', { check: 'repo', state: 'ok' }), 1);
    assert.equal(valueOf(samples, 'task_mcp_readiness_check', { check: 'repo', state: 'fail' }), 0);
  });

  it('logs no metrics listener in a worker: only the primary serves METRICS_PORT', () => {
    const listeners = primary.lines().filter((line) => String(line.msg).startsWith('metrics listening'));
    assert.deepEqual(
      listeners.map((line) => [line.msg, line.role]),
      [['metrics listening, for all workers', 'primary']],
    );
  });
});
