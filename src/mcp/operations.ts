/**
 * Every MCP request and notification a server receives, from its receipt to its reply (for a notification: its
 * hand-over, the ack): measured (`mcp_server_operation_duration_seconds`) and, with tracing on, traced as the
 * OpenTelemetry MCP conventions' server span, `{mcp.method.name} {target}`, whose parent is the client's span when
 * `params._meta` carries one (linked then to the HTTP span that carried the message) and the HTTP span otherwise.
 * Both MCP transports pass here: the server class they share (contract-server.ts) hands over each message.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import type { Metrics } from '../metrics/index.js';
import { mcpMethodLabel, toolLabel } from '../metrics/labels.js';
import { stopwatch } from '../metrics/stopwatch.js';
import { TRANSPORT_LABELS, type ToolTransport } from '../tools/pipeline.js';
import { inSpan, type Span, type Tracing } from '../tracing/tracing.js';
import { ERROR_META_KEY } from './result-meta.js';

/** Where the operations are reported; neither is required. */
export interface OperationsDeps {
  metrics?: Pick<Metrics, 'mcpOperation'>;
  tracing?: Tracing;
}

/** What one server instance knows of where its messages come from. */
export interface OperationSite {
  transport: Extract<ToolTransport, 'mcp' | 'legacy-sse'>;
  /** The HTTP+SSE session's id; Streamable HTTP is stateless here and has none. */
  sessionId?: string;
  /** The MCP revision the server serves now. */
  revision(): string;
}

export interface Operations {
  /** A message arrived: a request's or notification's operation starts, and `deliver` runs inside its span. */
  received(message: JSONRPCMessage, deliver: () => void): void;
  /** A message goes out (numbered as the client gets it): a response ends its request's operation. */
  sent(message: JSONRPCMessage): void;
  /** The transport closed: operations still waiting for their reply end without one (their spans only). */
  closed(): void;
}

interface Pending {
  method: string;
  tool?: string;
  elapsed: () => number;
  span?: Span;
}

type Params = { name?: unknown; uri?: unknown; _meta?: Record<string, unknown> } | undefined;

/** The JSON-RPC id as a map key: `1` and `"1"` are different requests. */
const keyOf = (id: unknown): string => `${typeof id}:${String(id)}`;

/** How a reply failed: its JSON-RPC error code, `tool_error` for an `isError` result; with what to say of it. */
function failureOf(message: JSONRPCMessage): { type: string; message?: string; code?: string } | undefined {
  if ('error' in message)
    return { type: String(message.error.code), message: message.error.message, code: String(message.error.code) };
  const result = 'result' in message ? (message.result as { isError?: unknown; _meta?: Record<string, unknown> }) : {};
  if (result.isError !== true) return undefined;
  const refusal = result._meta?.[ERROR_META_KEY] as { code?: unknown } | undefined;
  return { type: 'tool_error', message: typeof refusal?.code === 'string' ? refusal.code : undefined };
}

/** Watches the operations of one server instance. */
export function watchOperations({ metrics, tracing }: OperationsDeps, site: OperationSite): Operations {
  const transport = TRANSPORT_LABELS[site.transport];
  const pending = new Map<string, Pending>();

  const start = (method: string, id: unknown, params: Params): Pending => {
    const tool = method === 'tools/call' && typeof params?.name === 'string' ? toolLabel(params.name) : undefined;
    const span = tracing?.start(tool ? `${method} ${tool}` : method, {
      kind: 'server',
      carrier: params?._meta,
      attributes: {
        'mcp.method.name': method,
        'jsonrpc.request.id': id === undefined || id === null ? undefined : String(id),
        'gen_ai.tool.name': tool,
        'gen_ai.operation.name': tool === undefined ? undefined : 'execute_tool',
        'mcp.resource.uri': method === 'resources/read' && typeof params?.uri === 'string' ? params.uri : undefined,
        'mcp.protocol.version': site.revision(),
        'mcp.session.id': site.sessionId,
        'network.transport': 'tcp',
        'network.protocol.name': 'http',
        'task_mcp.transport': transport,
      },
    });
    return { method, tool, elapsed: stopwatch(), span };
  };

  const end = (op: Pending, failure: ReturnType<typeof failureOf>): void => {
    const errorType = failure?.type;
    metrics?.mcpOperation({ method: op.method, transport, tool: op.tool, seconds: op.elapsed(), errorType });
    if (failure?.code) op.span?.set({ 'rpc.response.status_code': failure.code });
    op.span?.end(failure && { type: failure.type, message: failure.message });
  };

  return {
    received(message, deliver) {
      if (!('method' in message)) return deliver(); // a response to a request of ours
      const method = mcpMethodLabel(message.method);
      const id = 'id' in message ? message.id : undefined;
      const op = start(method, id, message.params as Params);
      if (id !== undefined) pending.set(keyOf(id), op);
      inSpan(op.span, deliver);
      if (id === undefined) end(op, undefined);
    },
    sent(message) {
      if (!('id' in message) || 'method' in message) return; // a notification or a request of ours
      const op = pending.get(keyOf(message.id));
      if (!op) return;
      pending.delete(keyOf(message.id));
      end(op, failureOf(message));
    },
    closed() {
      for (const op of pending.values()) op.span?.end({ type: '_OTHER', message: 'closed before its reply' });
      pending.clear();
    },
  };
}
