/**
 * The error table: the contract's `ErrorCode` enum and its `x-error-map`, read and checked once at start.
 */
import type { ErrorCode } from '../../generated/types.gen.js';

/**
 * A JSON-RPC error code, or one per MCP revision where revisions disagree: each key is the revision its code
 * starts at (`{ '2024-11-05': -32002, '2026-07-28': -32602 }`).
 */
export type JsonRpcCodes = number | Readonly<Record<string, number>>;

export interface ErrorSpec {
  /** HTTP status of the problem+json answer. */
  status: number;
  /** JSON-RPC error code, where MCP reports the failure as a JSON-RPC error; read it with `jsonRpcCode`. */
  jsonrpc: JsonRpcCodes;
  title: string;
}

export type ErrorMap = Readonly<Record<ErrorCode, ErrorSpec>>;

/** Revisions are ISO dates, so their string order is their time order. */
const REVISION = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The JSON-RPC code of `spec` for a request at MCP `revision`: the entry of the latest revision at or before it;
 * a revision older than every entry takes the first.
 *
 * @example jsonRpcCode({ status: 404, jsonrpc: { '2024-11-05': -32002, '2026-07-28': -32602 }, title }, '2025-11-25') // -32002
 */
export function jsonRpcCode(spec: ErrorSpec, revision: string): number {
  if (typeof spec.jsonrpc === 'number') return spec.jsonrpc;
  const starts = Object.keys(spec.jsonrpc).sort();
  const from = starts.findLast((start) => start <= revision) ?? starts[0]!;
  return spec.jsonrpc[from]!;
}

/** Builds the table from the `ErrorCode` schema, failing loudly when an enum member and its entry disagree. */
export function readErrorMap(errorCodeSchema: { enum?: unknown; 'x-error-map'?: unknown }): ErrorMap {
  const codes = errorCodeSchema.enum;
  const map = errorCodeSchema['x-error-map'];
  if (!Array.isArray(codes) || typeof map !== 'object' || map === null) {
    throw new Error('openapi.yaml: ErrorCode needs an enum and an x-error-map');
  }
  const extra = Object.keys(map).filter((code) => !codes.includes(code));
  if (extra.length > 0) throw new Error(`openapi.yaml: x-error-map has codes not in the enum: ${extra.join(', ')}`);
  const table: Record<string, ErrorSpec> = {};
  for (const code of codes) {
    const spec = (map as Record<string, Partial<ErrorSpec>>)[code];
    const valid =
      Number.isInteger(spec?.status) &&
      spec!.status! >= 400 &&
      spec!.status! <= 599 &&
      isJsonRpcCodes(spec?.jsonrpc) &&
      typeof spec?.title === 'string';
    if (!valid) {
      throw new Error(
        `openapi.yaml: x-error-map entry for ${String(code)} needs status, title and jsonrpc ` +
          '(an integer, or integers keyed by the revision each starts at, like 2026-07-28)',
      );
    }
    const jsonrpc = typeof spec.jsonrpc === 'number' ? spec.jsonrpc : Object.freeze({ ...spec.jsonrpc });
    table[code] = Object.freeze({ status: spec.status!, jsonrpc, title: spec.title! });
  }
  return Object.freeze(table) as ErrorMap;
}

function isJsonRpcCodes(value: unknown): value is JsonRpcCodes {
  if (Number.isInteger(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  const entries = Object.entries(value);
  return entries.length > 0 && entries.every(([start, code]) => REVISION.test(start) && Number.isInteger(code));
}
