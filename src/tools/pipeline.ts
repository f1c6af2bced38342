/**
 * The one tool-call pipeline, for every transport (the JSON, SSE and NDJSON invoke; MCP Streamable HTTP; the
 * HTTP+SSE transport): find the tool by either spelling → read its arguments against the contract's input schema
 * (an optional field sent as `null` is absent) → run it, tracked for the drain and, unless the transport streams
 * progress to its caller, within REQUEST_TIMEOUT_MS → an outcome each transport maps its own way: a result, a
 * refusal (a TaskError: the domain said no, or the deadline passed), or a fault, logged here, once. This is also
 * the one place a tool call is seen whole, with its transport named, so every call is counted here by outcome
 * (`task_mcp_tool_calls_total`, refusals before it ran included). Over the invoke route the call is the whole
 * operation, so it is also measured and traced here (`tools/call` of `mcp_server_operation_duration_seconds`, an
 * `execute_tool` span); over MCP the operation is the JSON-RPC request, measured and traced by src/mcp/operations.ts
 * from its receipt to its reply, and the call runs inside that span.
 */
import type { Logger } from 'pino';
import type { ToolResult, ValidationIssue } from '../../generated/types.gen.js';
import type { CallContext, ChangeService, ProgressFn } from '../changes/types.js';
import type { Contract } from '../contract/index.js';
import { isTaskError, type ErrorCode, type TaskError } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Metrics, Transport } from '../metrics/index.js';
import { stopwatch } from '../metrics/stopwatch.js';
import { inSpan, type Span, type Tracing } from '../tracing/tracing.js';
import { findTool, parseToolInput, type ToolSpec } from './catalog.js';
import { withDeadline } from './deadline.js';

export type { ProgressFn } from '../changes/types.js';

/** Where a call came from. */
export type ToolTransport = 'invoke-json' | 'invoke-sse' | 'invoke-ndjson' | 'mcp' | 'legacy-sse';

/** Transports whose caller sees progress and heartbeats while the call runs: they wait for it, however long. */
const STREAMED: ReadonlySet<ToolTransport> = new Set(['invoke-sse', 'invoke-ndjson']);

/** Each transport as the metrics and traces name it (`task_mcp_transport`). */
export const TRANSPORT_LABELS: Record<ToolTransport, Transport> = {
  'invoke-json': 'invoke_json',
  'invoke-sse': 'invoke_sse',
  'invoke-ndjson': 'invoke_ndjson',
  mcp: 'streamable_http',
  'legacy-sse': 'legacy_sse',
};

/** Transports whose tool call is the whole operation (no JSON-RPC request around it to measure and trace). */
const OWN_OPERATION: ReadonlySet<ToolTransport> = new Set(['invoke-json', 'invoke-sse', 'invoke-ndjson']);

/** Where a call is made, known before it is read: what its outcome is counted under. */
export interface CallSite {
  transport: ToolTransport;
  /** The caller's name (a token name or an OAuth subject). */
  caller: string;
}

/** Who runs a call, and on what: the site, with the caller as the default owner and the receipts' actor. */
export interface CallMeta extends CallSite {
  requestId: string;
  log: Logger;
  progress?: ProgressFn;
}

/** How a call that ran ended. */
export type Outcome =
  | { kind: 'result'; result: ToolResult }
  | { kind: 'refused'; error: TaskError }
  /** Anything else: already logged, with its stack; the caller learns nothing but that the server failed. */
  | { kind: 'fault' };

/** A call found and read: ready to run, or why not. */
export type PreparedCall =
  | { status: 'unknown' }
  | { status: 'invalid'; tool: ToolSpec; issues: ValidationIssue[] }
  | { status: 'ready'; tool: ToolSpec; run(meta: Omit<CallMeta, keyof CallSite>): Promise<Outcome> };

export interface ToolPipeline {
  /**
   * Finds the tool `name` and reads `args` for it, for a call made at `site`; the transport refuses what is not
   * ready its own way (counted here: `ENOTFOUND`, `EBADINPUT`).
   */
  prepare(name: string, args: unknown, site: CallSite): PreparedCall;
}

export interface ToolPipelineDeps {
  service: ChangeService;
  contract: Pick<Contract, 'schema' | 'validator'>;
  /** Every call is tracked until it settles, whether or not its caller still waits. */
  lifecycle: Pick<Lifecycle, 'track'>;
  /** REQUEST_TIMEOUT_MS. */
  callTimeoutMs: number;
  /** Where calls are counted (and, over the invoke route, measured); nowhere when unset. */
  metrics?: Pick<Metrics, 'toolCall' | 'mcpOperation'>;
  /** Traces, when on: the invoke route's `execute_tool` span. */
  tracing?: Tracing;
}

/** The code a call's outcome is counted under. */
const codeOf = (outcome: Outcome): 'ok' | ErrorCode =>
  outcome.kind === 'result' ? 'ok' : outcome.kind === 'refused' ? outcome.error.code : 'EINTERNAL';

/** OpenTelemetry's `error.type` of an invoke: `tool_error` for a refusal, as for MCP's `isError`; `500` for a fault. */
const errorTypeOf = (outcome: Outcome): string | undefined =>
  outcome.kind === 'result' ? undefined : outcome.kind === 'refused' ? 'tool_error' : '500';

export function createToolPipeline(deps: ToolPipelineDeps): ToolPipeline {
  const { service, contract, lifecycle, callTimeoutMs, metrics, tracing } = deps;
  const counted = (tool: string, site: CallSite, code: 'ok' | ErrorCode): void =>
    metrics?.toolCall({ tool, transport: TRANSPORT_LABELS[site.transport], code, caller: site.caller });

  const settle = async (tool: ToolSpec, input: unknown, meta: CallMeta, span?: Span): Promise<Outcome> => {
    const ctx: CallContext = { actor: meta.caller, requestId: meta.requestId, progress: meta.progress };
    const label = { tool: tool.name, reqId: meta.requestId, caller: meta.caller };
    // async: a tool that throws at once fails its promise like any other failure.
    const call = async (): Promise<ToolResult> => tool.run(service, input, ctx);
    const work = lifecycle.track(inSpan(span, call), label);
    try {
      // The work is not cancelled at the deadline: it runs to its end, and a late failure only reaches the log.
      const result = STREAMED.has(meta.transport)
        ? await work
        : await withDeadline(work, callTimeoutMs, (err) =>
            meta.log.warn({ err, tool: tool.name }, 'a tool call failed after its deadline'),
          );
      return { kind: 'result', result };
    } catch (err) {
      if (isTaskError(err)) return { kind: 'refused', error: err };
      // Unknown faults are logged here, once; no transport passes on their message, stack or paths.
      meta.log.error({ err, tool: tool.name }, 'tool call failed');
      return { kind: 'fault' };
    }
  };

  const run = async (tool: ToolSpec, input: unknown, meta: CallMeta): Promise<Outcome> => {
    const own = OWN_OPERATION.has(meta.transport);
    const elapsed = stopwatch();
    const transport = TRANSPORT_LABELS[meta.transport];
    const span = own
      ? tracing?.start(`execute_tool ${tool.name}`, {
          attributes: {
            'gen_ai.operation.name': 'execute_tool',
            'gen_ai.tool.name': tool.name,
            'task_mcp.transport': transport,
          },
        })
      : undefined;
    const outcome = await settle(tool, input, meta, span);
    counted(tool.name, meta, codeOf(outcome));
    const errorType = errorTypeOf(outcome);
    if (own) metrics?.mcpOperation({ method: 'tools/call', transport, tool: tool.name, seconds: elapsed(), errorType });
    span?.end(errorType === undefined ? undefined : { type: errorType, message: codeOf(outcome) });
    return outcome;
  };

  return {
    prepare(name, args, site) {
      const tool = findTool(name);
      if (tool === undefined) {
        counted(name, site, 'ENOTFOUND');
        return { status: 'unknown' };
      }
      const { input, issues } = parseToolInput(contract, tool, args);
      if (issues.length > 0) {
        counted(tool.name, site, 'EBADINPUT');
        return { status: 'invalid', tool, issues };
      }
      return { status: 'ready', tool, run: (meta) => run(tool, input, { ...site, ...meta }) };
    },
  };
}
