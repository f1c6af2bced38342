/**
 * JSON Schemas out of the contract, for `npm run generate` (and the tests' response checks). Every consumer (ajv,
 * MCP tool definitions) gets a self-contained copy with local `$ref`s inlined and OpenAPI-only keys dropped,
 * because an MCP tool schema travels alone to the client.
 */

export type JsonSchema = Record<string, unknown>;

/** The contract's `components`, by kind (`schemas`, `parameters`, …) then name. */
export type Components = Record<string, Record<string, unknown>>;

/** Inlines every `#/components/<kind>/<name>` reference of `schema`. */
export function dereference(schema: unknown, components: Components, seen: string[] = []): unknown {
  if (Array.isArray(schema)) return schema.map((item) => dereference(item, components, seen));
  if (schema === null || typeof schema !== 'object') return schema;
  const ref = (schema as { $ref?: unknown }).$ref;
  if (typeof ref === 'string') return inline(ref, components, seen);
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!isOpenApiOnly(key)) out[key] = dereference(value, components, seen);
  }
  return out;
}

/**
 * Keys JSON Schema validators do not know: extensions, and OpenAPI's `discriminator`, a code-generation hint
 * (its `mapping` points into `#/components`); the `oneOf` branches' `const`s decide on their own.
 */
const isOpenApiOnly = (key: string): boolean => key.startsWith('x-') || key === 'discriminator';

function inline(ref: string, components: Components, seen: string[]): unknown {
  const [, kind, name] = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref) ?? [];
  const target = kind && name ? components[kind]?.[name] : undefined;
  if (target === undefined) throw new Error(`openapi.yaml: unresolvable $ref ${ref}`);
  if (seen.includes(ref)) throw new Error(`openapi.yaml: recursive $ref ${[...seen, ref].join(' → ')}`);
  return dereference(target, components, [...seen, ref]);
}
