/**
 * The contract compiled at build time, for `generated/contract.gen.ts`: each component schema made self-contained
 * (scripts/dereference.ts) and one request validator per operation (scripts/request-schemas.ts), compiled by ajv
 * into standalone code. The server then loads plain functions at start instead of parsing the YAML and compiling
 * some fifty validators, which took a quarter of its start-up.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneModule from 'ajv/dist/standalone/index.js';
import addFormatsModule from 'ajv-formats';
import { dereference, type Components, type JsonSchema } from './dereference.js';
import { requestSchema, type OperationObject } from './request-schemas.js';

// Both are CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
const standaloneCode = standaloneModule as unknown as typeof standaloneModule.default;

export interface ContractDocument {
  paths: Record<string, Record<string, OperationObject>>;
  components: Components & { schemas: Record<string, JsonSchema> };
}

/** The options every validator is compiled with (kept as they were when the server compiled them at start). */
const OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true, code: { source: true, esm: true } } as const;

const entries = (names: string[], prefix: string): string =>
  names.map((name) => `  ${JSON.stringify(name)}: ${prefix}${name},`).join('\n');

/** The module's text (before formatting): the validators, the schemas, and maps from names to both. */
export function compiledContract(document: ContractDocument, notice: string): string {
  const { components } = document;
  const ajv = new Ajv2020(OPTIONS);
  addFormats(ajv);
  const schemas: Record<string, JsonSchema> = {};
  const exports: Record<string, string> = {};
  for (const name of Object.keys(components.schemas)) {
    schemas[name] = dereference(components.schemas[name], components) as JsonSchema;
    ajv.addSchema(schemas[name], `schemas/${name}`);
    exports[`schema_${name}`] = `schemas/${name}`;
  }
  const operations: string[] = [];
  for (const item of Object.values(document.paths)) {
    for (const raw of Object.values(item)) {
      const op = dereference(raw, components) as OperationObject;
      operations.push(op.operationId);
      ajv.addSchema(requestSchema(op), `requests/${op.operationId}`);
      exports[`request_${op.operationId}`] = `requests/${op.operationId}`;
    }
  }
  // ajv's standalone code loads its runtime helpers (and ajv-formats' checks) with `require`.
  const code = standaloneCode(ajv, exports).replace(/^"use strict";/, '');
  return `// @ts-nocheck: ajv's standalone code is plain JavaScript; the exports below are typed.
${notice}import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

${code}

/** Each component schema, self-contained: every \`$ref\` inlined, OpenAPI-only keys dropped. */
export const COMPONENT_SCHEMAS: Record<string, Record<string, unknown>> = ${JSON.stringify(schemas, null, 2)};

/** The compiled validator of each component schema. */
export const SCHEMA_VALIDATORS: Record<string, ValidateFunction> = {
${entries(Object.keys(schemas), 'schema_')}
};

/** Each operation's validator of a request's \`{ path, query, header }\`. */
export const REQUEST_VALIDATORS: Record<string, ValidateFunction> = {
${entries(operations, 'request_')}
};
`;
}
