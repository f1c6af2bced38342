/**
 * Tool arguments, read in one place for every transport (`parseToolInput` in src/tools/catalog.ts): `null` for
 * an optional field is absent, the rest is checked against the contract's input schema. Each transport is driven
 * for real: the HTTP invoke route and MCP over Streamable HTTP with the official v2 client.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadContract } from '../src/contract/index.js';
import { BODY_CHECKED_ELSEWHERE } from '../src/http/router.js';
import { findTool, parseToolInput } from '../src/tools/catalog.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';

const contract = loadContract(BODY_CHECKED_ELSEWHERE);
const OPEN = findTool('change.open')!;
const UNUSED = { rationale: null, owner: null, ttl: null, template: null };

describe('parseToolInput', () => {
  it('drops null optional fields and keeps every other field as sent', () => {
    const { input, issues } = parseToolInput(contract, OPEN, { slug: 'null-fields', title: 'T', ...UNUSED });
    assert.deepEqual(issues, []);
    assert.deepEqual(input, { slug: 'null-fields', title: 'T' });
  });

  it('refuses null for a required field and a field the schema does not have, each by name', () => {
    const { issues } = parseToolInput(contract, OPEN, { slug: 'null-fields', title: null, extra: null });
    assert.deepEqual(issues, [
      { location: 'extra', message: 'is not allowed here' },
      { location: 'title', message: 'must be string' },
    ]);
  });
});

describe('null optional arguments on every transport', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.stop());

  const proposal = (slug: string) => readFile(path.join(s.repo.root, 'openspec/changes', slug, 'proposal.md'), 'utf8');

  it('opens a change over the HTTP invoke with null for every optional field, as if they were absent', async () => {
    const res = await s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ slug: 'null-http', title: 'Null over HTTP', ...UNUSED }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { created: boolean; lock: { owner: string } };
    assert.equal(body.created, true);
    assert.equal(body.lock.owner, 'alice', 'owner: null is the caller, as an absent owner is');
    assert.match(await proposal('null-http'), /^# Null over HTTP\n/);
  });

  it('refuses null for a required field over the HTTP invoke with 400 EBADINPUT at body/title', async () => {
    const res = await s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ slug: 'null-title', title: null }),
    });
    assert.equal(res.status, 400);
    const problem = (await res.json()) as { code: string; errors: unknown[] };
    assert.equal(problem.code, 'EBADINPUT');
    assert.deepEqual(problem.errors, [{ location: 'body/title', message: 'must be string' }]);
  });

  for (const era of ['modern', 'legacy'] as const) {
    it(`opens a change over MCP with null for every optional field (${era})`, async () => {
      const client = new Client(
        { name: 'strict-mode', version: '1.0.0' },
        era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
      );
      const headers = { Authorization: `Bearer ${TOKENS.alice}` };
      await client.connect(
        new StreamableHTTPClientTransport(new URL('/mcp', s.url), { fetch: s.fetch, requestInit: { headers } }),
      );
      const slug = `null-mcp-${era}`;
      const result = await client.callTool({ name: 'change_open', arguments: { slug, title: 'Null', ...UNUSED } });
      assert.equal(result.isError, undefined, JSON.stringify(result.content));
      assert.equal((result.structuredContent as { lock: { owner: string } }).lock.owner, 'alice');
      await client.close();
    });
  }
});
