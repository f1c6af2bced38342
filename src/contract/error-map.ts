/**
 * The error table: the contract's `ErrorCode` enum and its `x-error-map`, read and checked once at start.
 */
import type { ErrorCode } from '../../generated/types.gen.js';

export interface ErrorSpec {
  /** HTTP status of the problem+json answer. */
  status: number;
  /** JSON-RPC error code, where MCP reports the failure as a JSON-RPC error. */
  jsonrpc: number;
  title: string;
}

export type ErrorMap = Readonly<Record<ErrorCode, ErrorSpec>>;

/** Builds the table from the `ErrorCode` schema, failing loudly when an enum member and its entry disagree. */
export function readErrorMap(errorCodeSchema: { enum?: unknown; 'x-error-map'?: unknown }): ErrorMap {
  const codes = errorCodeSchema.enum;
  const map = errorCodeSchema['x-error-map'];
  if (!Array.isArray(codes) || typeof map !== 'object' || map === null) {
    throw new Error('openapi.yaml: ErrorCode needs an enum and an x-error-map');
  }
  const extra = Object.keys(map).filter((code) => !codes.includes(code));
  if (extra.length > 0) throw new Error(`openapi.yaml: x-error-map has codes not in the enum: ${extra.join(', ')}`);
  for (const code of codes) {
    const spec = (map as Record<string, Partial<ErrorSpec>>)[code];
    const valid =
      Number.isInteger(spec?.status) &&
      spec!.status! >= 400 &&
      spec!.status! <= 599 &&
      Number.isInteger(spec?.jsonrpc) &&
      typeof spec?.title === 'string';
    if (!valid) throw new Error(`openapi.yaml: x-error-map entry for ${String(code)} needs status, jsonrpc and title`);
  }
  return Object.freeze({ ...map }) as ErrorMap;
}
