/**
 * Response checks against the contract, for tests: a response's status must be one its operation declares and
 * its body must match the schema declared for that status and media type.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { operations, type OperationId } from '../../generated/operations.gen.js';
import { dereference, type Components } from '../../scripts/dereference.js';
import { toIssues } from '../../src/contract/index.js';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

interface Document {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: Components;
}

const document = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as Document;
const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, strict: false });
addFormats(ajv);

/** The contract's raw document, for tests that inspect it. */
export const contractDocument = document;

/**
 * Checks `res` (whose body was already read into `body`) against `op`; returns what did not match, or [].
 * Streaming bodies are checked per event by the tests that read them.
 */
export function responseIssues(op: OperationId, res: Response, body: unknown): string[] {
  const { method, path } = operations[op];
  const declared = document.paths[path]![method.toLowerCase()]!.responses;
  const response = dereference(declared[String(res.status)], document.components) as
    { content?: Record<string, { schema: unknown }> } | undefined;
  if (!response) return [`status ${res.status} is not declared for ${op}`];
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (!response.content) return body === '' || body === undefined ? [] : [`status ${res.status} declares no body`];
  const media = response.content[mediaType];
  if (!media) return [`media type ${mediaType} is not declared for ${op} ${res.status}`];
  const validate = ajv.compile(media.schema as object);
  return validate(body) ? [] : toIssues(validate.errors ?? []).map((i) => `${i.location} ${i.message}`);
}

/** Reads the body (JSON when it is JSON) and checks the response against the contract. */
export async function readChecked(op: OperationId, res: Response): Promise<{ body: unknown; issues: string[] }> {
  const text = await res.text();
  const isJson = /json/.test(res.headers.get('content-type') ?? '');
  const body = isJson && text ? (JSON.parse(text) as unknown) : text;
  return { body, issues: responseIssues(op, res, body) };
}
