/**
 * The contract: its text (served at /openapi.yaml), self-contained component schemas, a compiled validator of each,
 * and one request validator per operation. All but the text were compiled from openapi.yaml by `npm run generate`
 * (generated/contract.gen.ts), so start-up loads functions instead of parsing YAML and compiling validators. The
 * error table is `ERROR_MAP`.
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { COMPONENT_SCHEMAS, REQUEST_VALIDATORS, SCHEMA_VALIDATORS } from '../../generated/contract.gen.js';
import type { OperationId } from '../../generated/operations.gen.js';
import type { ValidationIssue } from '../../generated/types.gen.js';
import { packageFile } from '../package-root.js';

export { ERROR_MAP, jsonRpcCode } from './error-map.js';
export type { ErrorMap, ErrorSpec, JsonRpcCodes } from './error-map.js';

/** A JSON Schema, as the contract's components are once made self-contained. */
export type JsonSchema = Record<string, unknown>;

export interface Contract {
  /** The contract file as written. */
  readonly text: string;
  /** A component schema, self-contained (no `$ref`), e.g. `schema('ChangeOpenInput')`. */
  schema(name: string): JsonSchema;
  /** The compiled validator of a component schema. */
  validator(name: string): ValidateFunction;
  /**
   * Checks a request's path, query and headers against its operation; returns what did not match. A body is
   * checked by what reads it: a tool's arguments by the tool pipeline, JSON-RPC by the MCP transports.
   */
  checkRequest(op: OperationId, request: RequestParts): ValidationIssue[];
}

export interface RequestParts {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  header: Record<string, unknown>;
}

const get = <T>(table: Record<string, T>, name: string, what: string): T => {
  const found = Object.hasOwn(table, name) ? table[name] : undefined;
  if (found === undefined) throw new Error(`openapi.yaml has no ${what} ${name}`);
  return found;
};

/** Loads the contract. */
export function loadContract(): Contract {
  return {
    text: readFileSync(packageFile('openapi.yaml'), 'utf8'),
    schema: (name) => get(COMPONENT_SCHEMAS, name, 'schema'),
    validator: (name) => get(SCHEMA_VALIDATORS, name, 'schema'),
    checkRequest(op, parts) {
      const validate = get(REQUEST_VALIDATORS, op, 'operation');
      return validate(parts) ? [] : toIssues(validate.errors ?? []);
    },
  };
}

/** Turns ajv's errors into `{ location, message }` entries a person can read (`body/slug: must match …`). */
export function toIssues(errors: ErrorObject[]): ValidationIssue[] {
  const issues = errors
    .filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf' && e.keyword !== 'if')
    .map((e) => {
      const base = e.instancePath.replace(/^\//, '');
      if (e.keyword === 'additionalProperties') {
        const extra = String((e.params as { additionalProperty: string }).additionalProperty);
        return { location: base ? `${base}/${extra}` : extra, message: 'is not allowed here' };
      }
      if (e.keyword === 'required') {
        const missing = String((e.params as { missingProperty: string }).missingProperty);
        return { location: base ? `${base}/${missing}` : missing, message: 'is required' };
      }
      return { location: base || 'request', message: e.message ?? 'is invalid' };
    });
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(i.location + i.message) && seen.add(i.location + i.message));
}
