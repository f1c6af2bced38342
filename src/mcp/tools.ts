/**
 * The MCP face of the tool catalog: the `tools/list` listing, built once from the contract's schemas, and
 * `tools/call`, which hands the call to the tool pipeline and shapes its outcome for the request's MCP revision.
 */
import type { CallToolResult, ListToolsResult, Tool } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { ChangeArchiveResult, ChangeOpenResult } from '../../generated/types.gen.js';
import type { Contract } from '../contract/index.js';
import { TOOLS, type CanonicalToolName, type ToolSpec } from '../tools/catalog.js';
import type { ProgressFn, ToolPipeline, ToolTransport } from '../tools/pipeline.js';
import { rpcError } from './contract-server.js';
import { ERROR_META_KEY } from './result-meta.js';
import { holds } from './revisions.js';

/** Which spelling `tools/list` advertises; `tools/call` accepts both either way. */
export type ToolNames = 'safe' | 'dotted';

export interface ToolBox {
  /** The whole `tools/list` result, built once and shared by every server instance. */
  readonly listing: ListToolsResult;
  call(name: string, args: unknown, request: ToolRequest): Promise<CallToolResult>;
}

/** Who calls, on which transport, where its log goes, and the MCP revision the call was made at. */
export interface ToolRequest {
  caller: string;
  requestId: string;
  transport: Extract<ToolTransport, 'mcp' | 'legacy-sse'>;
  log: Logger;
  revision: string;
  progress?: ProgressFn;
}

const ANNOTATIONS: Record<ToolSpec['name'], Tool['annotations']> = {
  // Opening an open change resumes it: same result, no second scaffold.
  'change.open': { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  // Archiving an archived change returns its receipt.
  'change.archive': { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

/** Builds the listing once, from the contract's self-contained schemas (their validators are compiled at load). */
export function createToolBox(
  pipeline: ToolPipeline,
  contract: Pick<Contract, 'schema'>,
  toolNames: ToolNames,
): ToolBox {
  if (toolNames !== 'safe' && toolNames !== 'dotted') {
    throw new Error(`toolNames must be 'safe' or 'dotted', got ${JSON.stringify(toolNames)}`);
  }
  const listing: ListToolsResult = {
    tools: TOOLS.map((t): Tool => ({
      name: toolNames === 'safe' ? t.safeName : t.name,
      title: t.title,
      description: t.description,
      inputSchema: contract.schema(t.inputSchema) as Tool['inputSchema'],
      outputSchema: contract.schema(t.outputSchema) as Tool['outputSchema'],
      annotations: ANNOTATIONS[t.name],
    })),
  };

  return {
    listing,
    async call(name, args, { revision, transport, caller, ...meta }) {
      const call = pipeline.prepare(name, args ?? {}, { transport, caller });
      // Unknown tools stay protocol errors in every revision (tools, "Error Handling").
      if (call.status === 'unknown') throw rpcError(revision, 'ENOTFOUND', `Unknown tool: ${name}`);
      if (call.status === 'invalid') {
        const { issues } = call;
        const message = `Invalid arguments for ${name}: ${issues.map((i) => `${i.location}: ${i.message}`).join('; ')}`;
        // Before SEP-1303 (2025-11-25) the tools spec lists "Invalid arguments" among protocol errors.
        if (!holds('argumentErrorsAsResults', revision)) {
          throw rpcError(revision, 'EBADINPUT', message, { errors: issues });
        }
        return errorResult('EBADINPUT', message, 'Correct the named arguments and call again.', { errors: issues });
      }
      const outcome = await call.run(meta);
      if (outcome.kind === 'result') {
        return {
          content: [{ type: 'text', text: render(call.tool, outcome.result) }],
          structuredContent: { ...outcome.result },
        };
      }
      if (outcome.kind === 'refused') {
        const { code, message, hint, details } = outcome.error;
        return errorResult(code, message, hint, details);
      }
      // No stack, no server paths: the pipeline logged the fault.
      throw rpcError(revision, 'EINTERNAL', 'Internal error');
    },
  };
}

/**
 * A domain refusal as a tool result the model can read and act on. The error rides in `_meta` and the text, not
 * in `structuredContent`: 2025-era SDK clients validate `structuredContent` against the tool's `outputSchema`
 * even when `isError` is set (@modelcontextprotocol/sdk 1.32 `Client.callTool`), so an error object there would
 * turn a clean refusal into a client-side exception.
 */
function errorResult(code: string, message: string, hint?: string, details?: Record<string, unknown>): CallToolResult {
  const text = `${code}: ${message}` + (hint ? `\nHint: ${hint}` : '');
  return {
    isError: true,
    content: [{ type: 'text', text }],
    _meta: { [ERROR_META_KEY]: { code, message, ...(hint && { hint }), ...(details && { details }) } },
  };
}

/**
 * One short paragraph a model can act on, per tool (the full result is in `structuredContent`): keyed by tool, so a
 * tool left out does not compile.
 */
const RENDER: { [Name in CanonicalToolName]: (result: ResultOf<Name>) => string } = {
  'change.open': (r) =>
    [
      `${r.created ? 'Opened' : 'Resumed'} change ${r.slug}; locked by ${r.lock.owner} until ${r.lock.expiresAt}.`,
      `Edit ${r.paths.proposal}, ${r.paths.tasks} and the spec deltas under ${r.paths.specs}.`,
      `Resources: ${r.resourceUris.proposal}, ${r.resourceUris.tasks}, ${r.resourceUris.delta}.`,
    ].join('\n'),
  'change.archive': (r) => {
    const specs = r.receipt.specsUpdated;
    return [
      `${r.alreadyArchived ? 'Already archived' : 'Archived'} ${r.receipt.slug} as ${r.archivedAs}.`,
      `${r.receipt.commits.length} commit(s); specs: +${specs.added} ~${specs.modified} -${specs.removed} ` +
        `→${specs.renamed} in ${specs.capabilities.join(', ') || 'no capability'}.`,
      `Receipt: ${r.receiptUri}.`,
    ].join('\n');
  },
};

/** Each tool's result type, by canonical name. */
interface Results {
  'change.open': ChangeOpenResult;
  'change.archive': ChangeArchiveResult;
}
type ResultOf<Name extends CanonicalToolName> = Results[Name];

/** The text of `tool`'s `result` (the pipeline checked it is that tool's result). */
const render = (tool: ToolSpec, result: unknown): string => (RENDER[tool.name] as (r: unknown) => string)(result);
