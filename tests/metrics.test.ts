/**
 * The metrics registry and its recording functions, one by one: the series each writes, the labels kept bounded
 * (unknown methods and tools are `_OTHER`, callers only when asked for and at most 100), one registry per server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { createMetrics, type Metrics } from '../src/metrics/index.js';
import { parseExposition, valueOf, type Sample } from './helpers/exposition.js';

const build = (options: Partial<Parameters<typeof createMetrics>[0]> = {}): Metrics =>
  createMetrics({ callerLabels: false, maxStreams: 1000, defaultCollectors: false, ...options });

const scrape = async (metrics: Metrics): Promise<Sample[]> => parseExposition((await metrics.expose()).body);

describe('metrics: HTTP', () => {
  it('records a request under its route, method and status, with the body bytes sent', async () => {
    const metrics = build();
    metrics.httpRequest({ route: '/v1/tools/{tool}/invoke', method: 'POST', status: 200, seconds: 0.2, bytes: 574 });
    metrics.httpRequest({ route: '/v1/tools/{tool}/invoke', method: 'POST', status: 200, seconds: 0.3, bytes: 26 });
    const samples = await scrape(metrics);
    const labels = {
      http_route: '/v1/tools/{tool}/invoke',
      http_request_method: 'POST',
      http_response_status_code: '200',
    };
    assert.equal(valueOf(samples, 'http_server_request_duration_seconds_count', labels), 2);
    assert.equal(valueOf(samples, 'http_server_request_duration_seconds_sum', labels), 0.5);
    assert.equal(valueOf(samples, 'http_server_request_duration_seconds_bucket', { ...labels, le: '0.25' }), 1);
    assert.equal(valueOf(samples, 'http_server_response_body_size_bytes_sum', labels), 600);
  });

  it('labels a method OpenTelemetry does not know _OTHER, so a client cannot add series', async () => {
    const metrics = build();
    for (const method of ['BREW', 'PROPFIND', 'get']) {
      metrics.httpRequest({ route: 'unmatched', method, status: 405, seconds: 0, bytes: 0 });
    }
    const counts = (await scrape(metrics)).filter((s) => s.name === 'http_server_request_duration_seconds_count');
    assert.deepEqual(
      counts.map((s) => [s.labels.http_request_method, s.value]),
      [['_OTHER', 3]],
    );
  });
});

describe('metrics: MCP operations and tool calls', () => {
  it('counts a tool call by tool, transport and code; records a tools/call operation by tool and error type', async () => {
    const metrics = build();
    metrics.toolCall({ tool: 'change_open', transport: 'streamable_http', code: 'ok' });
    metrics.toolCall({ tool: 'change.open', transport: 'streamable_http', code: 'ELOCKED' });
    const call = { method: 'tools/call', transport: 'streamable_http', seconds: 0.4 } as const;
    metrics.mcpOperation({ ...call, tool: 'change_open' });
    metrics.mcpOperation({ ...call, tool: 'change.open', errorType: 'tool_error' });
    metrics.mcpOperation({ ...call, tool: 'change.archive', transport: 'legacy_sse', errorType: '-32602' });
    const samples = await scrape(metrics);
    const calls = { tool: 'change.open', transport: 'streamable_http' };
    assert.equal(valueOf(samples, 'task_mcp_tool_calls_total', { ...calls, code: 'ok' }), 1);
    assert.equal(valueOf(samples, 'task_mcp_tool_calls_total', { ...calls, code: 'ELOCKED' }), 1);
    const operation = {
      mcp_method_name: 'tools/call',
      gen_ai_tool_name: 'change.open',
      task_mcp_transport: 'streamable_http',
    };
    const duration = 'mcp_server_operation_duration_seconds_count';
    assert.equal(valueOf(samples, duration, { ...operation, error_type: '' }), 1);
    assert.equal(valueOf(samples, duration, { ...operation, error_type: 'tool_error' }), 1);
    assert.equal(valueOf(samples, duration, { gen_ai_tool_name: 'change.archive', error_type: '-32602' }), 1);
  });

  it('labels an unknown tool or JSON-RPC method _OTHER', async () => {
    const metrics = build();
    metrics.toolCall({ tool: 'rm -rf /', transport: 'invoke_json', code: 'ENOTFOUND' });
    metrics.mcpOperation({ method: 'x/made-up', transport: 'streamable_http', seconds: 0, errorType: '-32601' });
    metrics.mcpOperation({ method: 'tools/list', transport: 'legacy_sse', seconds: 0 });
    const samples = await scrape(metrics);
    assert.equal(valueOf(samples, 'task_mcp_tool_calls_total', { tool: '_OTHER', code: 'ENOTFOUND' }), 1);
    const duration = 'mcp_server_operation_duration_seconds_count';
    assert.equal(valueOf(samples, duration, { mcp_method_name: '_OTHER', error_type: '-32601' }), 1);
    assert.equal(
      valueOf(samples, duration, { mcp_method_name: 'tools/list', gen_ai_tool_name: '', error_type: '' }),
      1,
    );
  });
});

describe('metrics: streams', () => {
  it('counts open streams by kind from zero, each close once however often it is called', async () => {
    const metrics = build({ maxStreams: 7 });
    const close = metrics.streamOpened('events');
    metrics.streamOpened('events');
    metrics.streamOpened('invoke_ndjson')();
    close();
    close();
    const samples = await scrape(metrics);
    assert.equal(valueOf(samples, 'task_mcp_open_streams', { kind: 'events' }), 1);
    assert.equal(valueOf(samples, 'task_mcp_open_streams', { kind: 'invoke_ndjson' }), 0);
    assert.equal(valueOf(samples, 'task_mcp_open_streams', { kind: 'legacy_sse' }), 0);
    assert.equal(valueOf(samples, 'task_mcp_stream_limit'), 7);
  });

  it('counts cap refusals by budget and scope, heartbeat lag and slow readers cut', async () => {
    const metrics = build();
    metrics.capRefused({ budget: 'calls', scope: 'client' });
    metrics.capRefused({ budget: 'streams', scope: 'instance' });
    metrics.heartbeatLag({ kind: 'events', seconds: 0.03 });
    metrics.slowReaderCut('invoke_sse');
    const samples = await scrape(metrics);
    assert.equal(valueOf(samples, 'task_mcp_cap_refusals_total', { budget: 'calls', scope: 'client' }), 1);
    assert.equal(valueOf(samples, 'task_mcp_cap_refusals_total', { budget: 'streams', scope: 'instance' }), 1);
    assert.equal(valueOf(samples, 'task_mcp_stream_heartbeat_lag_seconds_bucket', { kind: 'events', le: '0.05' }), 1);
    assert.equal(valueOf(samples, 'task_mcp_stream_heartbeat_lag_seconds_bucket', { kind: 'events', le: '0.025' }), 0);
    assert.equal(valueOf(samples, 'task_mcp_stream_slow_readers_cut_total', { kind: 'invoke_sse' }), 1);
  });
});

describe('metrics: refusals and caller labels', () => {
  it('counts rate-limit and auth refusals with no caller label unless caller labels are on', async () => {
    const metrics = build();
    metrics.rateLimited({ window: 'burst', caller: 'alice' });
    metrics.authRefused({ status: 403, code: 'EFOREIGN_OWNER', credential: 'bearer', caller: 'alice' });
    const samples = await scrape(metrics);
    assert.equal(valueOf(samples, 'task_mcp_rate_limit_refusals_total', { window: 'burst', caller: '' }), 1);
    const refusal = { http_response_status_code: '403', reason: 'EFOREIGN_OWNER', credential: 'bearer', caller: '' };
    assert.equal(valueOf(samples, 'task_mcp_auth_refusals_total', refusal), 1);
    assert.ok(!samples.some((s) => Object.values(s.labels).includes('alice')), 'no caller name anywhere');
  });

  it('with caller labels, names at most 100 distinct callers and puts the rest under _OTHER', async () => {
    const metrics = build({ callerLabels: true });
    for (let i = 0; i < 105; i++) metrics.rateLimited({ window: 'sustained', caller: `agent-${i}` });
    metrics.rateLimited({ window: 'sustained', caller: 'agent-0' });
    metrics.rateLimited({ window: 'sustained' });
    const series = (await scrape(metrics)).filter((s) => s.name === 'task_mcp_rate_limit_refusals_total');
    assert.equal(series.length, 102, '100 callers, _OTHER, and the anonymous one');
    assert.equal(valueOf(series, 'task_mcp_rate_limit_refusals_total', { caller: 'agent-0' }), 2);
    assert.equal(valueOf(series, 'task_mcp_rate_limit_refusals_total', { caller: '_OTHER' }), 5);
    assert.equal(valueOf(series, 'task_mcp_rate_limit_refusals_total', { caller: '' }), 1);
  });
});

describe('metrics: the domain', () => {
  it('records change operations by outcome, subprocesses by subcommand, contention, recoveries and event lag', async () => {
    const metrics = build();
    metrics.changeOperation({ operation: 'change.archive', outcome: 'ETASKS_INCOMPLETE', seconds: 1.2 });
    metrics.subprocess({ command: 'openspec', subcommand: 'validate', seconds: 0.45 });
    metrics.subprocess({ command: 'git', subcommand: 'log --all; rm', seconds: 0.01 });
    metrics.lockContended('archive');
    metrics.archiveRecovered('rolled_back');
    metrics.eventDelivered({ bus: 'redis', seconds: 0.004 });
    const samples = await scrape(metrics);
    const archive = { operation: 'change.archive', outcome: 'ETASKS_INCOMPLETE' };
    assert.equal(valueOf(samples, 'task_mcp_change_operation_duration_seconds_sum', archive), 1.2);
    const validate = { command: 'openspec', subcommand: 'validate' };
    assert.equal(valueOf(samples, 'task_mcp_subprocess_duration_seconds_count', validate), 1);
    const odd = { command: 'git', subcommand: '_OTHER' };
    assert.equal(valueOf(samples, 'task_mcp_subprocess_duration_seconds_count', odd), 1);
    assert.equal(valueOf(samples, 'task_mcp_lock_contentions_total', { lock: 'archive' }), 1);
    assert.equal(valueOf(samples, 'task_mcp_archive_recoveries_total', { action: 'rolled_back' }), 1);
    assert.equal(valueOf(samples, 'task_mcp_event_delivery_lag_seconds_bucket', { bus: 'redis', le: '0.005' }), 1);
  });
});

describe('metrics: readiness', () => {
  it('reads readiness at each scrape: 1 for the state each check is in, 0 for the others', async () => {
    const metrics = build();
    assert.equal(valueOf(await scrape(metrics), 'task_mcp_readiness_check', { check: 'draining' }), undefined);
    let eventBus: 'ok' | 'degraded' = 'ok';
    metrics.watchReadiness(async () => ({ draining: 'ok', eventBus }));
    assert.equal(valueOf(await scrape(metrics), 'task_mcp_readiness_check', { check: 'eventBus', state: 'ok' }), 1);
    eventBus = 'degraded';
    const samples = await scrape(metrics);
    assert.equal(valueOf(samples, 'task_mcp_readiness_check', { check: 'eventBus', state: 'ok' }), 0);
    assert.equal(valueOf(samples, 'task_mcp_readiness_check', { check: 'eventBus', state: 'degraded' }), 1);
    assert.equal(valueOf(samples, 'task_mcp_readiness_check', { check: 'eventBus', state: 'fail' }), 0);
    assert.equal(valueOf(samples, 'task_mcp_readiness_check', { check: 'draining', state: 'ok' }), 1);
  });
});

describe('metrics: registries', () => {
  it('gives each server its own registry, never the global one', async () => {
    const one = build();
    const other = build();
    one.lockContended('change');
    assert.equal(valueOf(await scrape(one), 'task_mcp_lock_contentions_total', { lock: 'change' }), 1);
    assert.equal(valueOf(await scrape(other), 'task_mcp_lock_contentions_total', { lock: 'change' }), undefined);
    assert.equal(globalRegistry.getSingleMetric('task_mcp_lock_contentions_total'), undefined);
  });

  it("adds prom-client's process collectors only when asked", async () => {
    assert.equal(valueOf(await scrape(build()), 'process_resident_memory_bytes'), undefined);
    const resident = valueOf(await scrape(build({ defaultCollectors: true })), 'process_resident_memory_bytes');
    assert.ok(resident !== undefined && resident > 0);
  });

  it('serves the Prometheus text format', async () => {
    assert.equal((await build().expose()).contentType, 'text/plain; version=0.0.4; charset=utf-8');
  });
});
