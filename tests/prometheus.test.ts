/**
 * Real Prometheus against the real server: Debian's `prometheus` scrapes the metrics listener (with its bearer
 * token) and its query API shows the series of the calls made, with the right labels and counts; it loads the
 * example alert rules and evaluates them without error, and parses every query of the example dashboard.
 * `promtool` checks the example scrape config and runs the rules' unit tests.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  PROMTOOL,
  settled as settledIn,
  startPrometheus,
  type Series,
  type TestPrometheus,
} from './helpers/prometheus.js';
import { startServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/within.js';

const run = promisify(execFile);
const EXAMPLES = fileURLToPath(new URL('../examples/prometheus/', import.meta.url));
const SCRAPE_TOKEN = 'prometheus-scrape-token-0123456789';
const INVOKE = '/v1/tools/{tool}/invoke';

describe('promtool on the examples', () => {
  it('accepts the example scrape config and the rules it loads', async () => {
    const { stdout } = await run(PROMTOOL, ['check', 'config', 'prometheus.yml'], { cwd: EXAMPLES });
    assert.match(stdout, /SUCCESS: prometheus\.yml is valid prometheus config file syntax/);
    assert.match(stdout, /SUCCESS: 6 rules found/);
  });

  it("passes the alert rules' unit tests", async () => {
    const { stdout } = await run(PROMTOOL, ['test', 'rules', 'task-mcp.rules.test.yml'], { cwd: EXAMPLES });
    assert.match(stdout, /SUCCESS/);
  });
});

describe('Prometheus scraping a running task-mcp', () => {
  let s: TestServer;
  let prometheus: TestPrometheus;
  let instance: string;

  const settled = (expr: string, value: number): Promise<Series> => settledIn(prometheus, expr, value);

  const call = async (path: string, init: RequestInit = {}, authed = true): Promise<number> => {
    const res = authed ? await s.authed(path, init) : await s.fetch(`${s.url}${path}`, init);
    await res.arrayBuffer();
    return res.status;
  };
  const invoke = (body: unknown): RequestInit => ({
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

  before(async () => {
    s = await startServer({ env: { METRICS_PORT: '0', METRICS_TOKEN: SCRAPE_TOKEN } });
    instance = new URL(s.server.metricsUrl!).host;
    assert.deepEqual(
      [
        await call('/healthz', {}, false),
        await call('/healthz', {}, false),
        await call('/healthz', {}, false),
        await call('/v1/tools/change.open/invoke', invoke({ title: 'Add search', slug: 'add-search' })),
        await call('/v1/tools/nope/invoke', invoke({})),
        await call('/v1/tools/nope/invoke', invoke({})),
        await call('/v1/tools/change.open/invoke', invoke({}), false),
      ],
      [200, 200, 200, 200, 404, 404, 401],
    );
    prometheus = await startPrometheus({
      target: instance,
      token: SCRAPE_TOKEN,
      ruleFiles: [`${EXAMPLES}task-mcp.rules.yml`],
    });
  });
  after(async () => {
    await prometheus?.stop();
    await s?.stop();
  });

  it('scrapes the listener with its token: up is 1 for the target', async () => {
    const up = await settled('up{job="task-mcp"}', 1);
    assert.equal(up.metric.instance, instance);
  });

  it('has each request under its route template, method and status, with its count', async () => {
    const healthz = await settled(
      'http_server_request_duration_seconds_count{http_route="/healthz",http_request_method="GET"}',
      3,
    );
    assert.deepEqual(healthz.metric, {
      __name__: 'http_server_request_duration_seconds_count',
      job: 'task-mcp',
      instance,
      http_route: '/healthz',
      http_request_method: 'GET',
      http_response_status_code: '200',
    });
    const invokes = `http_server_request_duration_seconds_count{http_route="${INVOKE}",http_request_method="POST"`;
    await settled(`${invokes},http_response_status_code="200"}`, 1);
    await settled(`${invokes},http_response_status_code="404"}`, 2);
    await settled(`${invokes},http_response_status_code="401"}`, 1);
    const raw = await prometheus.query('{__name__=~"http_server_.*", http_route=~".*nope.*|.*change\\\\.open.*"}');
    assert.deepEqual(raw, [], 'no raw path or tool name in a route label');
  });

  it('counts the 401 by code and credential, and reads readiness', async () => {
    await settled('task_mcp_auth_refusals_total{http_response_status_code="401",reason="EAUTH",credential="none"}', 1);
    await settled('task_mcp_readiness_check{check="repo",state="ok"}', 1);
    await settled('task_mcp_readiness_check{check="draining",state="fail"}', 0);
    const memory = await prometheus.query('process_resident_memory_bytes{job="task-mcp"}');
    assert.equal(memory.length, 1);
    assert.ok(memory[0]!.value > 0);
  });

  it('sees later calls at the next scrape', async () => {
    assert.equal(await call('/healthz', {}, false), 200);
    assert.equal(await call('/healthz', {}, false), 200);
    await settled(
      'http_server_request_duration_seconds_count{http_route="/healthz",http_response_status_code="200"}',
      5,
    );
  });

  it('loads the example alert rules and evaluates each without error, none firing', async () => {
    type Rules = {
      groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; state: string }> }>;
    };
    let rules: Rules['groups'][number]['rules'] = [];
    await until(30_000, 'every rule evaluated', async () => {
      rules = (await prometheus.api<Rules>('/api/v1/rules')).groups.flatMap((group) => group.rules);
      return rules.length > 0 && rules.every((rule) => rule.health !== 'unknown');
    });
    assert.deepEqual(
      rules.map((rule) => [rule.name, rule.health, rule.lastError ?? '', rule.state]),
      [
        ['TaskMcpHighErrorRatio', 'ok', '', 'inactive'],
        ['TaskMcpHttpP99OverBudget', 'ok', '', 'inactive'],
        ['TaskMcpToolP99OverBudget', 'ok', '', 'inactive'],
        ['TaskMcpStreamCapNear', 'ok', '', 'inactive'],
        ['TaskMcpRedisDegraded', 'ok', '', 'inactive'],
        ['TaskMcpDown', 'ok', '', 'inactive'],
      ],
    );
  });

  it("parses every query of the example dashboard, and its request-rate panel has the target's routes", async () => {
    const dashboard = JSON.parse(
      readFileSync(new URL('../examples/grafana/task-mcp.json', import.meta.url), 'utf8'),
    ) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const concrete = (expr: string): string =>
      expr.replaceAll('$job', 'task-mcp').replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m');
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets ?? []) await prometheus.query(concrete(expr));
    }
    const rate = dashboard.panels.find((panel) => panel.title === 'Request rate by route')!.targets![0]!.expr;
    let routes: string[] = [];
    await until(30_000, 'a request rate for /healthz', async () => {
      routes = (await prometheus.query(concrete(rate))).map((series) => series.metric.http_route!);
      return routes.includes('/healthz');
    });
    assert.ok(routes.includes(INVOKE), routes.join());
  });
});
