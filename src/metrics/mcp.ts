/**
 * MCP operations and tool calls, for every transport a tool can be called over. The histogram follows
 * OpenTelemetry's MCP conventions (`mcp.server.operation.duration` with `mcp.method.name`, `gen_ai.tool.name`,
 * `error.type`); `network.transport` would always be `tcp` here, so the label that tells transports apart is
 * our own, `task_mcp_transport`.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { errorTypeLabel, mcpMethodLabel, outcomeLabel, toolLabel, type Outcome } from './labels.js';

/** Where a call came in: the two MCP transports, or the HTTP invoke route by its reply's media type. */
export type Transport = 'streamable_http' | 'legacy_sse' | 'invoke_json' | 'invoke_sse' | 'invoke_ndjson';

/** One MCP request or notification, from receipt until its result (or ack) was sent. */
export interface McpOperationRecord {
  /** The JSON-RPC method (`tools/list`); an unknown one is labelled `_OTHER`. */
  method: string;
  transport: Transport;
  seconds: number;
  /** The tool of a `tools/call`, either spelling. */
  tool?: string;
  /** A JSON-RPC error code (`-32602`) or `tool_error` for an `isError` result; absent on success. */
  errorType?: string;
}

/** One tool call, whatever the transport, with its outcome. */
export interface ToolCallRecord {
  /** Either spelling; an unknown tool is labelled `_OTHER`. */
  tool: string;
  transport: Transport;
  /** `ok`, or the error code the caller got. */
  code: Outcome;
  /** The caller's token name or OAuth subject (labelled only with `METRICS_CALLER_LABELS=1`). */
  caller?: string;
}

export interface McpMetrics {
  /**
   * One MCP operation: every request and notification of the MCP transports, and every tool call over the invoke
   * route as `tools/call` (the operation a tool call is, whatever carried it).
   */
  mcpOperation(record: McpOperationRecord): void;
  /** Counts a tool call by its outcome; its duration is its operation's (`mcpOperation`). */
  toolCall(record: ToolCallRecord): void;
}

/** OpenTelemetry's advised boundaries for `mcp.server.operation.duration`. */
export const OPERATION_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

export function mcpMetrics(registry: Registry, callerLabel: (caller: string | undefined) => string): McpMetrics {
  const duration = new Histogram({
    name: 'mcp_server_operation_duration_seconds',
    help: 'Duration of MCP requests and notifications (OpenTelemetry mcp.server.operation.duration), tool calls over the invoke route included.',
    labelNames: ['mcp_method_name', 'gen_ai_tool_name', 'error_type', 'task_mcp_transport'],
    buckets: OPERATION_BUCKETS,
    registers: [registry],
  });
  const calls = new Counter({
    name: 'task_mcp_tool_calls_total',
    help: 'Tool calls by tool, transport and outcome (code="ok" or the error code).',
    labelNames: ['tool', 'transport', 'code', 'caller'],
    registers: [registry],
  });
  return {
    mcpOperation: ({ method, transport, seconds, tool, errorType }) =>
      duration.observe(
        {
          mcp_method_name: mcpMethodLabel(method),
          gen_ai_tool_name: toolLabel(tool),
          error_type: errorTypeLabel(errorType),
          task_mcp_transport: transport,
        },
        seconds,
      ),
    toolCall: ({ tool, transport, code, caller }) =>
      calls.inc({ tool: toolLabel(tool), transport, code: outcomeLabel(code), caller: callerLabel(caller) }),
  };
}
