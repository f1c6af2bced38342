/**
 * The error table: each contract `ErrorCode` with its HTTP status, JSON-RPC code(s) and title, from the contract's
 * `x-error-map` through `generated/errors.gen.ts` (checked when generated: scripts/error-map.ts).
 */
import { ERROR_MAP as GENERATED } from '../../generated/errors.gen.js';
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

/** The table, by code. */
export const ERROR_MAP: ErrorMap = GENERATED;

/**
 * The JSON-RPC code of `spec` for a request at MCP `revision`: the entry of the latest revision at or before it;
 * a revision older than every entry takes the first. Revisions are ISO dates, so their string order is their time
 * order.
 *
 * @example jsonRpcCode({ status: 404, jsonrpc: { '2024-11-05': -32002, '2026-07-28': -32602 }, title }, '2025-11-25') // -32002
 */
export function jsonRpcCode(spec: ErrorSpec, revision: string): number {
  if (typeof spec.jsonrpc === 'number') return spec.jsonrpc;
  const starts = Object.keys(spec.jsonrpc).sort();
  const from = starts.findLast((start) => start <= revision) ?? starts[0]!;
  return spec.jsonrpc[from]!;
}
