import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { createClient } from '@hey-api/openapi-ts';
import config from '../openapi-ts.config.js';
import { ERROR_MAP, jsonRpcCode, loadContract, type ErrorSpec, type JsonSchema } from '../src/contract/index.js';
import { readErrorMap } from '../scripts/error-map.js';
import { contractDocument } from './helpers/contract.js';
import { SCHEMA_EXAMPLES } from './helpers/schema-examples.js';

const root = new URL('..', import.meta.url).pathname;

/**
 * Ways to break a valid instance of `schema` that it must refuse: another JSON type; each required property
 * left out; a property it does not allow; a restricted string (enum, const, pattern) with a NUL appended.
 */
function breakings(schema: JsonSchema, valid: unknown): Array<[string, unknown]> {
  const found: Array<[string, unknown]> = [['as another JSON type', typeof valid === 'string' ? 42 : 'text']];
  const { required, additionalProperties, enum: members, const: constant, pattern } = schema as Record<string, unknown>;
  const record = valid as Record<string, unknown>;
  for (const key of (required as string[] | undefined) ?? []) {
    const { [key]: _dropped, ...rest } = record;
    found.push([`without ${key}`, rest]);
  }
  if (additionalProperties === false) found.push(['with an unknown property', { ...record, unexpected: true }]);
  if (typeof valid === 'string' && (members || constant !== undefined || pattern)) {
    found.push(['with a NUL appended', `${valid}\u0000`]);
  }
  return found;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('the contract', () => {
  it('has generated/ up to date: regenerating from openapi.yaml changes nothing', async () => {
    const out = mkdtempSync(join(tmpdir(), 'task-mcp-generated-'));
    try {
      const base = await config;
      await createClient({ ...base, output: { ...(base.output as object), path: out }, logs: { level: 'silent' } });
      execFileSync(process.execPath, ['--import', 'tsx', 'scripts/generate-operations.ts', out], { cwd: root });
      execFileSync(
        join(root, 'node_modules/.bin/prettier'),
        ['--config', '.prettierrc.json', '--log-level', 'warn', '--write', out],
        { cwd: root },
      );
      const fresh = filesUnder(out)
        .map((f) => relative(out, f))
        .sort();
      const committed = filesUnder(join(root, 'generated'))
        .map((f) => relative(join(root, 'generated'), f))
        .sort();
      assert.deepEqual(committed, fresh, 'generated/ has other files than the generator makes: run npm run generate');
      for (const file of fresh) {
        const same = readFileSync(join(out, file), 'utf8') === readFileSync(join(root, 'generated', file), 'utf8');
        assert.ok(same, `generated/${file} is stale against openapi.yaml: run npm run generate`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('maps every error code to a status and a JSON-RPC code, and uses each status on some route', () => {
    const schema = contractDocument.components.schemas!.ErrorCode as { enum: string[] };
    assert.deepEqual(Object.keys(ERROR_MAP).sort(), [...schema.enum].sort());
    const declared = new Set(
      Object.values(contractDocument.paths).flatMap((item) =>
        Object.values(item).flatMap((op) => Object.keys(op.responses)),
      ),
    );
    for (const [code, spec] of Object.entries(ERROR_MAP)) {
      assert.ok(declared.has(String(spec.status)), `${code}'s status ${spec.status} is on no route`);
      const numbers = typeof spec.jsonrpc === 'number' ? [spec.jsonrpc] : Object.values(spec.jsonrpc);
      for (const n of numbers) {
        assert.ok(n <= -32000 || [-32700, -32600, -32601, -32602, -32603].includes(n), `${code}: ${n} is not JSON-RPC`);
      }
    }
  });

  it("reads a per-revision JSON-RPC code as the entry of the latest revision at or before the request's", () => {
    const spec = { status: 404, jsonrpc: { '2026-07-28': -32602, '2024-11-05': -32002 }, title: 'No such thing' };
    assert.equal(jsonRpcCode(spec, '2024-10-07'), -32002, 'older than every entry: the first');
    assert.equal(jsonRpcCode(spec, '2024-11-05'), -32002);
    assert.equal(jsonRpcCode(spec, '2025-11-25'), -32002);
    assert.equal(jsonRpcCode(spec, '2026-07-28'), -32602);
    assert.equal(jsonRpcCode(spec, '2027-01-01'), -32602);
    assert.equal(jsonRpcCode({ ...spec, jsonrpc: -32603 }, '2025-06-18'), -32603);
  });

  it('refuses an x-error-map entry whose per-revision codes are not keyed by revision', () => {
    const schema = (jsonrpc: unknown) => ({
      enum: ['EX'],
      'x-error-map': { EX: { status: 404, jsonrpc, title: 'X' } },
    });
    const read = readErrorMap(schema({ '2025-11-25': -32002 })) as Record<string, ErrorSpec>;
    assert.equal(jsonRpcCode(read.EX!, '2025-11-25'), -32002);
    for (const bad of [{}, { latest: -32602 }, { '2025-11-25': '-32002' }, '-32602', null]) {
      assert.throws(() => readErrorMap(schema(bad)), /x-error-map entry for EX/, JSON.stringify(bad));
    }
  });

  it('answers every error status of every route with a problem body', () => {
    for (const [path, item] of Object.entries(contractDocument.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) < 400) continue;
          const ref = (response as { $ref?: string }).$ref ?? '';
          const problem = contractDocument.components.responses?.[ref.split('/').pop() ?? ''] as
            { content?: Record<string, unknown> } | undefined;
          assert.ok(problem?.content?.['application/problem+json'], `${method} ${path} ${status} is not problem+json`);
        }
      }
    }
  });

  it("is what the runbook's error table says, code by code", () => {
    const runbook = readFileSync(join(root, 'docs/runbook.md'), 'utf8');
    const rows = runbook
      .split('\n')
      .filter((line) => /^\| `E[A-Z_]+` +\| \d{3} +\|/.test(line))
      .map((line) => line.split('|').map((cell) => cell.trim()));
    // A JSON-RPC cell is one code, or one per revision: `-32002 from 2024-11-05, -32602 from 2026-07-28`.
    const codesOf = (cell: string) => {
      const byRevision = [...cell.matchAll(/(-\d+) from (\d{4}-\d{2}-\d{2})/g)];
      return byRevision.length === 0
        ? Number(cell)
        : Object.fromEntries(byRevision.map(([, n, from]) => [from, Number(n)]));
    };
    const documented = Object.fromEntries(
      rows.map(([, code, status, jsonrpc, title]) => [
        code!.slice(1, -1),
        { status: Number(status), jsonrpc: codesOf(jsonrpc!), title },
      ]),
    );
    assert.deepEqual(documented, ERROR_MAP);
  });

  it('compiles every component schema, accepts its example and refuses input that breaks it', () => {
    const contract = loadContract();
    const names = Object.keys(contractDocument.components.schemas!);
    assert.deepEqual(Object.keys(SCHEMA_EXAMPLES).sort(), [...names].sort(), 'one example per component schema');
    for (const name of names) {
      const validate = contract.validator(name);
      const example = SCHEMA_EXAMPLES[name];
      assert.ok(validate(example), `${name} refuses its example: ${JSON.stringify(validate.errors)}`);
      for (const [how, broken] of breakings(contract.schema(name), example)) {
        assert.equal(validate(broken), false, `${name} accepts its example ${how}: ${JSON.stringify(broken)}`);
      }
    }
    // A nested schema is enforced where it is used: the Slug inside a tool's input.
    assert.equal(contract.validator('ChangeOpenInput')({ title: 'Add search', slug: '../etc' }), false);
  });

  it('gives self-contained schemas, with no $ref and no OpenAPI-only keys', () => {
    const text = JSON.stringify(loadContract().schema('ChangeArchiveResult'));
    assert.ok(!text.includes('$ref'));
    assert.ok(!text.includes('x-error-map'));
  });
});
