/**
 * One JSON Schema per operation for the parameters of a request the contract describes — path, query and
 * headers — so they are checked by one compiled validator.
 */
import type { JsonSchema } from './dereference.js';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: unknown;
}

export interface OperationObject {
  operationId: string;
  parameters?: Parameter[];
}

type Part = 'path' | 'query' | 'header';

/** The request schema of `op`; header names are lower-cased, as Node presents them. */
export function requestSchema(op: OperationObject): JsonSchema {
  const parts: Record<Part, { properties: JsonSchema; required: string[] }> = {
    path: { properties: {}, required: [] },
    query: { properties: {}, required: [] },
    header: { properties: {}, required: [] },
  };
  for (const param of op.parameters ?? []) {
    if (param.in === 'cookie') continue;
    const name = param.in === 'header' ? param.name.toLowerCase() : param.name;
    parts[param.in].properties[name] = param.schema;
    if (param.required) parts[param.in].required.push(name);
  }
  const properties: JsonSchema = {};
  for (const [part, { properties: props, required }] of Object.entries(parts)) {
    properties[part] = { type: 'object', properties: props, required };
  }
  return { type: 'object', properties, required: Object.keys(properties) };
}
