/**
 * The one tool-call pipeline, for every transport (the JSON, SSE and NDJSON invoke; MCP Streamable HTTP; the
 * HTTP+SSE transport): find the tool by either spelling → read its arguments against the contract's input schema
 * (an optional field sent as `null` is absent) → run it, tracked for the drain and, unless the transport streams
 * progress to its caller, within REQUEST_TIMEOUT_MS → an outcome each transport maps its own way: a result, a
 * refusal (a TaskError: the domain said no, or the deadline passed), or a fault, logged here, once. This is also
 * the one place a tool call is seen whole, with its transport named: where per-call metrics and traces belong.
 */
import type { Logger } from 'pino';
import type { ToolResult, ValidationIssue } from '../../generated/types.gen.js';
import type { CallContext, ChangeService, ProgressFn } from '../changes/types.js';
import type { Contract } from '../contract/index.js';
import { isTaskError, type TaskError } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import { findTool, parseToolInput, type ToolSpec } from './catalog.js';
import { withDeadline } from './deadline.js';

export type { ProgressFn } from '../changes/types.js';

/** Where a call came from. */
export type ToolTransport = 'invoke-json' | 'invoke-sse' | 'invoke-ndjson' | 'mcp' | 'legacy-sse';

/** Transports whose caller sees progress and heartbeats while the call runs: they wait for it, however long. */
const STREAMED: ReadonlySet<ToolTransport> = new Set(['invoke-sse', 'invoke-ndjson']);

/** Who runs a call, and on what. */
export interface CallMeta {
  transport: ToolTransport;
  /** The caller's name (a token name or an OAuth subject): the default owner and the receipts' actor. */
  caller: string;
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
  | { status: 'ready'; tool: ToolSpec; run(meta: CallMeta): Promise<Outcome> };

export interface ToolPipeline {
  /** Finds the tool `name` and reads `args` for it; the transport refuses what is not ready its own way. */
  prepare(name: string, args: unknown): PreparedCall;
}

export interface ToolPipelineDeps {
  service: ChangeService;
  contract: Pick<Contract, 'schema' | 'validator'>;
  /** Every call is tracked until it settles, whether or not its caller still waits. */
  lifecycle: Pick<Lifecycle, 'track'>;
  /** REQUEST_TIMEOUT_MS. */
  callTimeoutMs: number;
}

export function createToolPipeline({ service, contract, lifecycle, callTimeoutMs }: ToolPipelineDeps): ToolPipeline {
  const run = async (tool: ToolSpec, input: unknown, meta: CallMeta): Promise<Outcome> => {
    const ctx: CallContext = { actor: meta.caller, requestId: meta.requestId, progress: meta.progress };
    const label = { tool: tool.name, reqId: meta.requestId, caller: meta.caller };
    const work = lifecycle.track((async () => tool.run(service, input, ctx))(), label);
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

  return {
    prepare(name, args) {
      const tool = findTool(name);
      if (tool === undefined) return { status: 'unknown' };
      const { input, issues } = parseToolInput(contract, tool, args);
      if (issues.length > 0) return { status: 'invalid', tool, issues };
      return { status: 'ready', tool, run: (meta) => run(tool, input, meta) };
    },
  };
}
