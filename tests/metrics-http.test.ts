/**
 * What the HTTP edge records on the real server: every request under the contract's route template (never the
 * raw path), its status and bytes; rate-limit refusals by window; 401/403 by code and credential, with the
 * caller only when caller labels are on; and readiness.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { routeTemplate } from '../src/http/route-template.js';
import { scrape, valueOf, type Sample } from './helpers/exposition.js';
import { TOKENS, startServer, type TestServer } from './helpers/server.js';

const DURATION = 'http_server_request_duration_seconds_count';
const BYTES = 'http_server_response_body_size_bytes_sum';
const REFUSALS = 'task_mcp_auth_refusals_total';
const INVOKE = '/v1/tools/{tool}/invoke';

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

/** Reads and discards the reply, so the response has ended (and been recorded) before the next step. */
const drain = async (reply: Promise<Response>): Promise<Response> => {
  const res = await reply;
  await res.arrayBuffer();
  return res;
};

describe('route templates', () => {
  it('maps a path to the contract template it belongs to, and any other path to unmatched', () => {
    const cases: Array<[string, string]> = [
      ['/v1/tools/change.open/invoke', INVOKE],
      ['/v1/tools/a%2Fb/invoke', INVOKE],
      ['/healthz', '/healthz'],
      ['/healthz/', '/healthz'],
      ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource/mcp'],
      ['/openapi.yaml', '/openapi.yaml'],
      ['/openapiXyaml', 'unmatched'],
      ['/v1/tools/a/b/invoke', 'unmatched'],
      ['/v1/tools//invoke', 'unmatched'],
      ['/wp-login.php', 'unmatched'],
      ['/', 'unmatched'],
    ];
    for (const [path, template] of cases) assert.equal(routeTemplate(path), template, path);
  });
});

describe('HTTP metrics on the real server', () => {
  let s: TestServer;
  let samples: Sample[];
  before(async () => {
    s = await startServer({
      env: {
        METRICS_PORT: '0',
        METRICS_CALLER_LABELS: '1',
        RATE_LIMIT_BURST: '5/1h',
        CORS_ORIGINS: 'https://app.example.test',
      },
    });
    await drain(s.authed('/v1/tools/change.open/invoke', json({ title: 'Add search', slug: 'add-search' })));
    await drain(s.authed('/v1/tools/not-a-tool/invoke', json({})));
    await drain(s.authed('/v1/tools/change.open/invoke', json({ title: 'B', slug: 'add-b', owner: 'bob' })));
    await drain(s.fetch(`${s.url}/v1/tools/change.open/invoke`, json({})));
    await drain(s.fetch(`${s.url}/v1/events`, { headers: { Authorization: 'Bearer not-a-valid-token-0000' } }));
    await drain(s.fetch(`${s.url}/openapi.yaml`, { headers: { Origin: 'https://evil.example.test' } }));
    await drain(s.fetch(`${s.url}/wp-login.php`));
    samples = await scrape(s.server.metricsUrl);
  });
  after(() => s.stop());

  it('records each request under its route template, method and status', () => {
    const invoke = { http_route: INVOKE, http_request_method: 'POST' };
    assert.equal(valueOf(samples, DURATION, { ...invoke, http_response_status_code: '200' }), 1);
    assert.equal(valueOf(samples, DURATION, { ...invoke, http_response_status_code: '404' }), 1);
    assert.equal(valueOf(samples, DURATION, { ...invoke, http_response_status_code: '403' }), 1);
    assert.equal(valueOf(samples, DURATION, { ...invoke, http_response_status_code: '401' }), 1);
    assert.equal(valueOf(samples, DURATION, { http_route: '/v1/events', http_response_status_code: '401' }), 1);
    assert.equal(valueOf(samples, DURATION, { http_route: '/openapi.yaml', http_response_status_code: '403' }), 1);
    assert.equal(valueOf(samples, DURATION, { http_route: 'unmatched', http_response_status_code: '404' }), 1);
  });

  it('never puts a raw path, a tool name from the URL or a slug in a label', () => {
    // The tool-call metrics name tools by design; the HTTP ones name only route templates.
    const http = samples.filter((sample) => sample.name.startsWith('http_server_'));
    const values = http.flatMap((sample) => Object.values(sample.labels));
    for (const raw of ['not-a-tool', 'change.open', 'add-search', '/wp-login.php', 'wp-login']) {
      assert.ok(!values.some((value) => value.includes(raw)), raw);
    }
  });

  it('records the body bytes each response sent', async () => {
    const res = await s.fetch(`${s.url}/healthz`);
    const sent = (await res.arrayBuffer()).byteLength;
    const after = await scrape(s.server.metricsUrl);
    assert.equal(valueOf(after, BYTES, { http_route: '/healthz', http_response_status_code: '200' }), sent);
  });

  it('counts 401 and 403 by code and credential, with the caller once authenticated', () => {
    const refused = (labels: Record<string, string>) => valueOf(samples, REFUSALS, labels);
    const s401 = { http_response_status_code: '401', reason: 'EAUTH', caller: '' };
    assert.equal(refused({ ...s401, credential: 'none' }), 1);
    assert.equal(refused({ ...s401, credential: 'bearer' }), 1);
    const origin = { http_response_status_code: '403', reason: 'EFORBIDDEN', credential: 'none', caller: '' };
    assert.equal(refused(origin), 1);
    const owner = { http_response_status_code: '403', reason: 'EFOREIGN_OWNER', credential: 'bearer' };
    assert.equal(refused({ ...owner, caller: 'alice' }), 1);
    assert.ok(!samples.some((sample) => Object.values(sample.labels).includes(TOKENS.alice)), 'no token value');
  });

  it('counts a rate-limit refusal by its window and caller', async () => {
    const burst = { window: 'burst', caller: 'alice' };
    assert.equal(valueOf(samples, 'task_mcp_rate_limit_refusals_total', burst), undefined);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await drain(s.authed('/v1/tools/x/invoke', json({})))).status);
    assert.deepEqual(statuses, [404, 404, 429, 429], 'alice spent 3 of 5 before');
    const after = await scrape(s.server.metricsUrl);
    assert.equal(valueOf(after, 'task_mcp_rate_limit_refusals_total', burst), 2);
    const limited = { http_route: INVOKE, http_response_status_code: '429' };
    assert.equal(valueOf(after, DURATION, limited), 2, 'refused before routing, still under its route');
  });

  it('exposes readiness as one series per check and state', () => {
    assert.equal(valueOf(samples, 'task_mcp_readiness_check', { check: 'repo', state: 'ok' }), 1);
    assert.equal(valueOf(samples, 'task_mcp_readiness_check', { check: 'draining', state: 'ok' }), 1);
    assert.equal(valueOf(samples, 'task_mcp_readiness_check', { check: 'draining', state: 'fail' }), 0);
  });
});

describe('rate-limit metrics, sustained window', () => {
  it('counts a refusal of the sustained window under that window, with no caller label by default', async () => {
    const s = await startServer({
      env: { METRICS_PORT: '0', RATE_LIMIT_BURST: '100/1h', RATE_LIMIT_SUSTAINED: '1/1h' },
    });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await drain(s.authed('/v1/tools/x/invoke', json({})))).status);
      assert.deepEqual(statuses, [404, 429, 429]);
      const samples = await scrape(s.server.metricsUrl);
      const sustained = { window: 'sustained', caller: '' };
      assert.equal(valueOf(samples, 'task_mcp_rate_limit_refusals_total', sustained), 2);
      assert.equal(valueOf(samples, 'task_mcp_rate_limit_refusals_total', { window: 'burst' }), undefined);
    } finally {
      await s.stop();
    }
  });
});
