/**
 * Tool arguments, read in one place for every transport (`parseToolInput` in src/tools/catalog.ts): `null` for
 * an optional field is absent, the rest is checked against the contract's input schema. Each transport is driven
 * for real: the HTTP invoke route, MCP over Streamable HTTP (the official v2 client, and raw requests at each
 * revision) and live HTTP+SSE sessions. How MCP reports bad arguments depends on the revision: from 2025-11-25
 * (SEP-1303) they are an `isError` tool result naming the field; a -32602 protocol error.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadContract } from '../src/contract/index.js';
import { ERROR_META_KEY } from '../src/mcp/index.js';
import { findTool, parseToolInput } from '../src/tools/catalog.js';
import { openSession } from './helpers/legacy-sse.js';
import { rpcAt, STREAMABLE_REVISIONS, type RpcMessage } from './helpers/mcp-rpc.js';
import { gitStatus, TOKENS, useServer } from './helpers/server.js';

const contract = loadContract();
const OPEN = findTool('change.open')!;
const UNUSED = { rationale: null, owner: null, ttl: null, template: null };
const BAD_SLUG = { name: 'change_open', arguments: { title: 'x', slug: '../../etc' } };

/**
 * Whether bad arguments are a tool result, from each revision's server/tools.mdx "Error Handling": 2024-11-05,
 * 2025-03-26 and 2025-06-18 list "Invalid arguments" among protocol errors; 2025-11-25 and 2026-07-28 list
 * "Input validation errors" among tool execution errors (SEP-1303).
 */
const ARGS_AS_RESULT: Record<string, boolean> = {
  '2024-11-05': false,
  '2025-03-26': false,
  '2025-06-18': false,
  '2025-11-25': true,
  '2026-07-28': true,
};

/** Asserts `reply` reports the bad slug the way `revision` says to. */
function assertBadSlug(reply: RpcMessage, revision: string): void {
  if (!ARGS_AS_RESULT[revision]) {
    assert.equal(reply.result, undefined, JSON.stringify(reply));
    assert.equal(reply.error?.code, -32602);
    assert.equal(reply.error.data?.code, 'EBADINPUT');
    assert.match(reply.error.message, /^Invalid arguments for change_open: slug: must match pattern /);
    return;
  }
  assert.equal(reply.error, undefined, JSON.stringify(reply));
  assert.equal(reply.result?.isError, true);
  assert.match(reply.result.content![0]!.text, /^EBADINPUT: Invalid arguments for change_open: slug: must match /);
  const meta = reply.result._meta?.[ERROR_META_KEY] as { code: string; details: { errors: { location: string }[] } };
  assert.equal(meta.code, 'EBADINPUT');
  assert.deepEqual(
    meta.details.errors.map((e) => e.location),
    ['slug'],
  );
  assert.equal(
    reply.result.structuredContent,
    undefined,
    'no structuredContent a client would check against outputSchema',
  );
}

describe('parseToolInput', () => {
  it('drops null optional fields and keeps every other field as sent', () => {
    const { input, issues } = parseToolInput(contract, OPEN, { slug: 'null-fields', title: 'T', ...UNUSED });
    assert.deepEqual(issues, []);
    assert.deepEqual(input, { slug: 'null-fields', title: 'T' });
  });

  it("refuses what the contract's ChangeOpenInput refuses, field by field: the domain does not check it again", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ title: '' }, 'title'],
      [{ title: '   ' }, 'title'],
      [{ title: 'two\nlines' }, 'title'],
      [{ title: 'x'.repeat(201) }, 'title'],
      [{ title: 'T', rationale: 'r'.repeat(4001) }, 'rationale'],
      [{ title: 'T', ttl: 59 }, 'ttl'],
      [{ title: 'T', ttl: 86401 }, 'ttl'],
      [{ title: 'T', ttl: 60.5 }, 'ttl'],
      [{ title: 'T', template: 'epic' }, 'template'],
    ];
    for (const [fields, location] of cases) {
      const { issues } = parseToolInput(contract, OPEN, { slug: 'bad-input', ...fields });
      assert.deepEqual([...new Set(issues.map((issue) => issue.location))], [location], JSON.stringify(fields));
    }
  });

  it('refuses null for a required field and a field the schema does not have, each by name', () => {
    const { issues } = parseToolInput(contract, OPEN, { slug: 'null-fields', title: null, extra: null });
    assert.deepEqual(issues, [
      { location: 'extra', message: 'is not allowed here' },
      { location: 'title', message: 'must be string' },
    ]);
  });
});

describe('tool arguments on every transport', () => {
  const s = useServer();

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

  for (const revision of STREAMABLE_REVISIONS) {
    const how = ARGS_AS_RESULT[revision] ? 'an isError result naming the field' : 'a -32602 protocol error';
    it(`answers bad arguments at ${revision} with ${how}, and changes nothing (Streamable HTTP)`, async () => {
      const before = await gitStatus(s.repo);
      const { status, messages } = await rpcAt(s, revision, 'tools/call', BAD_SLUG);
      assert.equal(status, 200);
      assert.equal(messages.length, 1);
      assertBadSlug(messages[0]!, revision);
      assert.equal(await gitStatus(s.repo), before);
    });
  }

  for (const revision of ['2024-11-05', '2025-11-25']) {
    it(`answers bad arguments on an HTTP+SSE session initialized at ${revision} as that revision says`, async () => {
      const session = await openSession(s);
      try {
        await session.initialize(revision);
        assertBadSlug(await session.request({ id: 2, method: 'tools/call', params: BAD_SLUG }), revision);
      } finally {
        await session.cancel();
      }
    });
  }

  it('answers null for a required argument over MCP with an isError result naming it (2026-07-28)', async () => {
    const { messages } = await rpcAt(s, '2026-07-28', 'tools/call', {
      name: 'change_open',
      arguments: { slug: 'null-title', title: null },
    });
    assert.equal(messages[0]?.result?.isError, true);
    assert.equal(
      messages[0].result.content![0]!.text.split('\n')[0],
      'EBADINPUT: Invalid arguments for change_open: title: must be string',
    );
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
