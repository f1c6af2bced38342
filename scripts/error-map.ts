/**
 * Reads the contract's error table (the `ErrorCode` enum and its `x-error-map`) for the generator, failing loudly
 * when an enum member and its entry disagree or an entry is malformed: `generated/errors.gen.ts` is only ever
 * written from a table that holds.
 */
import type { ErrorSpec, JsonRpcCodes } from '../src/contract/error-map.js';

/** Revisions are ISO dates, so their string order is their time order. */
const REVISION = /^\d{4}-\d{2}-\d{2}$/;

/** The table from the `ErrorCode` schema, code by code in enum order. */
export function readErrorMap(errorCodeSchema: { enum?: unknown; 'x-error-map'?: unknown }): Record<string, ErrorSpec> {
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
    table[code] = { status: spec.status!, jsonrpc: spec.jsonrpc!, title: spec.title! };
  }
  return table;
}

function isJsonRpcCodes(value: unknown): value is JsonRpcCodes {
  if (Number.isInteger(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  const entries = Object.entries(value);
  return entries.length > 0 && entries.every(([start, code]) => REVISION.test(start) && Number.isInteger(code));
}
