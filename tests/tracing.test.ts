/**
 * Traces, on: the real OTLP HTTP exporter posts to a loopback receiver. One MCP `tools/call` that carries a
 * `traceparent` (its HTTP request in the header, the client's MCP span in `params._meta`) gives an HTTP server span
 * (child of the header's span), an MCP server span with the MCP semantic conventions' attributes (child of
 * `_meta`'s span, linked to the HTTP span) and a span per subprocess under it; its log line carries the trace.
 * An invoke's call is an `execute_tool` span under its HTTP span; an HTTP+SSE session's spans carry its id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openSession } from './helpers/legacy-sse.js';
import { mcpRequest } from './helpers/mcp-request.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_HTTP_SPAN = '00f067aa0ba902b7';
const CLIENT_MCP_SPAN = 'b7ad6b7169203331';
const SERVER = 2;

/** A 2026-07-28 `tools/call` of change_open, traced by its client. */
function tracedCall(slug: string): RequestInit {
  const request = mcpRequest(TOKENS.alice, 'tools/call', { name: 'change_open', arguments: { title: 'Traced', slug } });
  const body = JSON.parse(request.body) as { params: { _meta: Record<string, unknown> } };
  body.params._meta.traceparent = `00-${TRACE}-${CLIENT_MCP_SPAN}-01`;
  return {
    ...request,
    headers: { ...request.headers, traceparent: `00-${TRACE}-${CLIENT_HTTP_SPAN}-01` },
    body: JSON.stringify(body),
  };
}

describe('tracing with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  let receiver: OtlpReceiver;
  let s: TestServer;
  const named = (spans: ReceivedSpan[], name: string): ReceivedSpan[] => spans.filter((span) => span.name === name);

  before(async () => {
    receiver = await startOtlpReceiver();
    s = await startServer({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '50',
        OTEL_SERVICE_NAME: 'task-mcp-under-test',
      },
    });
  });
  after(async () => {
    await s?.stop();
    await receiver?.stop();
  });

  it('exports the HTTP span, the MCP tools/call span under the client span and the subprocesses under it', async () => {
    const res = await s.fetch(`${s.url}/mcp`, tracedCall('traced-open'));
    assert.equal(res.status, 200);
    const reply = (await res.json()) as { result: { isError?: boolean } };
    assert.notEqual(reply.result.isError, true);

    const spans = await receiver.until('the HTTP and MCP spans', (all) =>
      ['POST /mcp', 'tools/call change.open'].every((name) => named(all, name).length === 1),
    );
    const http = named(spans, 'POST /mcp')[0]!;
    const mcp = named(spans, 'tools/call change.open')[0]!;
    assert.equal(http.traceId, TRACE);
    assert.equal(http.parentSpanId, CLIENT_HTTP_SPAN);
    assert.equal(http.kind, SERVER);
    assert.equal(http.attributes['http.request.method'], 'POST');
    assert.equal(http.attributes['http.route'], '/mcp');
    assert.equal(http.attributes['http.response.status_code'], 200);
    assert.equal(http.resource['service.name'], 'task-mcp-under-test');

    assert.equal(mcp.traceId, TRACE);
    assert.equal(mcp.parentSpanId, CLIENT_MCP_SPAN, "the client's MCP span from params._meta is the parent");
    assert.deepEqual(mcp.links, [{ traceId: TRACE, spanId: http.spanId }], 'linked to the HTTP span that carried it');
    assert.equal(mcp.kind, SERVER);
    assert.deepEqual(
      {
        method: mcp.attributes['mcp.method.name'],
        tool: mcp.attributes['gen_ai.tool.name'],
        operation: mcp.attributes['gen_ai.operation.name'],
        revision: mcp.attributes['mcp.protocol.version'],
        id: mcp.attributes['jsonrpc.request.id'],
        transport: mcp.attributes['network.transport'],
        session: mcp.attributes['mcp.session.id'],
        error: mcp.attributes['error.type'],
      },
      {
        method: 'tools/call',
        tool: 'change.open',
        operation: 'execute_tool',
        revision: '2026-07-28',
        id: '1',
        transport: 'tcp',
        session: undefined,
        error: undefined,
      },
    );

    const subprocesses = spans.filter((span) => span.parentSpanId === mcp.spanId);
    const names = new Set(subprocesses.map((span) => span.name));
    assert.ok(names.has('openspec init'), [...names].join());
    assert.ok(names.has('git rev-parse'), [...names].join());
    for (const span of subprocesses) {
      assert.equal(span.traceId, TRACE);
      assert.match(String(span.attributes['process.executable.name']), /^(git|openspec)$/);
    }
  });

  it("puts the trace on the request's log line", async () => {
    const http = named(receiver.spans, 'POST /mcp')[0]!;
    const line = await s.waitForLog((log) => log.trace_id === TRACE && log.msg === 'request completed');
    assert.equal(line.span_id, http.spanId);
  });

  it("exports an invoke's call as an execute_tool span under its HTTP span, its refusal as an error", async () => {
    const invoke = (slug: string) =>
      s.authed('/v1/tools/change.open/invoke', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ title: 'Invoked', slug }),
      });
    assert.equal((await invoke('traced-invoke')).status, 200);
    const refused = await s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        Authorization: `Bearer ${TOKENS.bob}`,
      },
      body: JSON.stringify({ title: 'Taken', slug: 'traced-invoke' }),
    });
    assert.equal(refused.status, 409);
    const spans = await receiver.until(
      'two execute_tool spans',
      (all) => named(all, 'execute_tool change.open').length === 2,
    );
    const [ok, failed] = named(spans, 'execute_tool change.open');
    const parents = spans.filter((span) => span.name === 'POST /v1/tools/{tool}/invoke');
    assert.equal(parents.length, 2);
    assert.deepEqual([ok!.parentSpanId, failed!.parentSpanId].sort(), parents.map((span) => span.spanId).sort());
    assert.equal(ok!.attributes['gen_ai.tool.name'], 'change.open');
    assert.equal(ok!.attributes['task_mcp.transport'], 'invoke_json');
    assert.equal(ok!.attributes['error.type'], undefined);
    assert.equal(failed!.attributes['error.type'], 'tool_error');
    assert.deepEqual(failed!.status, { code: 2, message: 'ELOCKED' });
  });

  it("gives an HTTP+SSE session's MCP spans its session id", async () => {
    const session = await openSession(s);
    await session.initialize('2024-11-05');
    const reply = await session.request({ id: 7, method: 'tools/list' });
    assert.ok(reply.result);
    await session.cancel();
    const sessionId = new URL(session.endpoint, 'http://x/').searchParams.get('sessionId');
    const spans = await receiver.until('the tools/list span', (all) => named(all, 'tools/list').length === 1);
    const list = named(spans, 'tools/list')[0]!;
    assert.equal(list.attributes['mcp.session.id'], sessionId);
    assert.equal(list.attributes['task_mcp.transport'], 'legacy_sse');
    assert.equal(list.attributes['mcp.protocol.version'], '2024-11-05');
  });
});
