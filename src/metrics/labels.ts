/**
 * Label values with bounded cardinality. A label value that comes from a client (a method name, a tool name, a
 * caller) is mapped onto a known set, or `_OTHER`, so a client cannot grow the number of series without limit.
 */
import { ErrorCodeSchema, ToolNameSchema } from '../../generated/schemas.gen.js';
import type { ErrorCode } from '../../generated/types.gen.js';

/** OpenTelemetry's fallback value for anything outside a label's known set. */
export const OTHER = '_OTHER';

/** The methods OpenTelemetry's `http.request.method` knows; any other is `_OTHER` (a client may send anything). */
const HTTP_METHODS: ReadonlySet<string> = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

/**
 * MCP methods a client may send to a server (OpenTelemetry's well-known `mcp.method.name` values, plus the
 * 2026-07-28 additions); a JSON-RPC method outside them is `_OTHER`.
 */
const MCP_METHODS: ReadonlySet<string> = new Set([
  'completion/complete',
  'initialize',
  'logging/setLevel',
  'notifications/cancelled',
  'notifications/initialized',
  'notifications/progress',
  'notifications/roots/list_changed',
  'ping',
  'prompts/get',
  'prompts/list',
  'resources/list',
  'resources/read',
  'resources/subscribe',
  'resources/templates/list',
  'resources/unsubscribe',
  'server/discover',
  'subscriptions/listen',
  'tools/call',
  'tools/list',
]);

/** The contract's tool names, each spelling mapped to the canonical dotted one (`change_open` → `change.open`). */
const TOOL_NAMES: ReadonlyMap<string, string> = new Map(
  ToolNameSchema.enum.map((name) => [name, name.replace('_', '.')] as const),
);

const ERROR_CODES: ReadonlySet<string> = new Set(ErrorCodeSchema.enum);

export const httpMethodLabel = (method: string): string => (HTTP_METHODS.has(method) ? method : OTHER);

export const mcpMethodLabel = (method: string): string => (MCP_METHODS.has(method) ? method : OTHER);

/** The canonical name of a contract tool, `_OTHER` for an unknown one, `""` (no label) when there is none. */
export const toolLabel = (tool: string | undefined): string =>
  tool === undefined ? '' : (TOOL_NAMES.get(tool) ?? OTHER);

/** A tool call's outcome: `ok` or one of the contract's error codes. */
export type Outcome = 'ok' | ErrorCode;

export const outcomeLabel = (outcome: string): string =>
  outcome === 'ok' || ERROR_CODES.has(outcome) ? outcome : OTHER;

/**
 * OpenTelemetry's `error.type` of an MCP operation: a JSON-RPC error code (`-32602`), `tool_error` for an
 * `isError` result, `""` (no label) on success.
 */
export const errorTypeLabel = (errorType: string | undefined): string =>
  errorType === undefined || errorType === '' ? '' : /^(-?\d{1,6}|tool_error)$/.test(errorType) ? errorType : OTHER;

/** Most distinct callers a caller label holds; later ones share `_OTHER` (OAuth subjects are unbounded). */
const MAX_CALLERS = 100;

/**
 * The caller label of a metric: `""` (no label) unless caller labels are on, then the token name or OAuth
 * subject, up to `MAX_CALLERS` distinct ones. Never a token: callers pass the name auth established.
 */
export function callerLabeller(enabled: boolean, max = MAX_CALLERS): (caller: string | undefined) => string {
  const seen = new Set<string>();
  return (caller) => {
    if (!enabled || caller === undefined || caller === '') return '';
    if (seen.has(caller)) return caller;
    if (seen.size >= max) return OTHER;
    seen.add(caller);
    return caller;
  };
}
