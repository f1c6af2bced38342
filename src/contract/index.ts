/**
 * The contract, loaded once at start: its text (served at /openapi.yaml), self-contained component schemas,
 * validators compiled once and one request validator per operation. The error table is `ERROR_MAP`.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import type { OperationId } from '../../generated/operations.gen.js';
import type { ValidationIssue } from '../../generated/types.gen.js';
import { packageFile } from '../package-root.js';
import { requestSchema, type OperationObject } from './requests.js';
import { dereference, type Components, type JsonSchema } from './schemas.js';

export { ERROR_MAP, jsonRpcCode } from './error-map.js';
export type { ErrorMap, ErrorSpec, JsonRpcCodes } from './error-map.js';
export type { JsonSchema } from './schemas.js';

// ajv-formats is CommonJS with a default export; under NodeNext its callable sits on `.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

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

interface Document {
  paths: Record<string, Record<string, OperationObject>>;
  components: Components & { schemas: Record<string, JsonSchema> };
}

/** Loads and compiles the contract. */
export function loadContract(): Contract {
  const text = readFileSync(packageFile('openapi.yaml'), 'utf8');
  const document = parse(text) as Document;
  const { components } = document;
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);

  const schemas = new Map<string, JsonSchema>();
  const validators = new Map<string, ValidateFunction>();
  for (const name of Object.keys(components.schemas)) {
    const schema = dereference(components.schemas[name], components) as JsonSchema;
    schemas.set(name, schema);
    validators.set(name, ajv.compile(schema));
  }

  const requests = new Map<string, ValidateFunction>();
  for (const item of Object.values(document.paths)) {
    for (const raw of Object.values(item)) {
      const op = dereference(raw, components) as OperationObject;
      requests.set(op.operationId, ajv.compile(requestSchema(op)));
    }
  }

  const get = <T>(map: Map<string, T>, name: string, what: string): T => {
    const found = map.get(name);
    if (found === undefined) throw new Error(`openapi.yaml has no ${what} ${name}`);
    return found;
  };

  return {
    text,
    schema: (name) => get(schemas, name, 'schema'),
    validator: (name) => get(validators, name, 'schema'),
    checkRequest(op, parts) {
      const validate = get(requests, op, 'operation');
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
