/**
 * Hostile input through MCP and the limits around tool calls: JSON-RPC batches, unknown methods and odd
 * envelopes; path traversal through resources (`..`, encoded, absolute, symlinks planted in the repo); the
 * resource size cap; thousands of distinct random slugs and arbitrary titles (fast-check); oversized headers;
 * a JSON call past REQUEST_TIMEOUT_MS, which still completes in full.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { assertIntact, assertNo5xx, assertRefusal, startHostileServer } from './helpers/hostile.js';
import type { TestServer } from './helpers/server.js';

const MCP_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
const SLUG = /^[a-z0-9](?:[a-z0-9-]{1,62})[a-z0-9]$/;

/** The JSON-RPC messages of a `/mcp` reply, whether it came as JSON or as SSE. */
function messagesOf(text: string): Array<{ result?: unknown; error?: { code: number; data?: { code?: string } } }> {
  if (!text.startsWith('event:') && !text.startsWith('data:')) return [JSON.parse(text)].flat();
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)));
}

describe('hostile input through MCP', () => {
  let s: TestServer;
  const legit = new Set<string>();
  before(async () => {
    s = await startHostileServer();
  });
  afterEach(() => assertIntact(s, legit));
  after(() => s.stop());

  const rpc = async (message: unknown) => {
    const res = await s.authed('/mcp', { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(message) });
    return { status: res.status, messages: res.status === 202 ? [] : messagesOf(await assertNo5xx(res)) };
  };
  const invoke = (tool: string, body: unknown) =>
    s.authed(`/v1/tools/${tool}/invoke`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const readResource = async (uri: string) => {
    const { messages } = await rpc({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri } });
    return messages[0]!;
  };

  it('answers batches, unknown methods and odd envelopes without a 5xx', async () => {
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    const odd = [
      [],
      [list, list],
      Array.from({ length: 500 }, (_, id) => ({ ...list, id })),
      { jsonrpc: '2.0', id: 1, method: 'no/such/method' },
      { jsonrpc: '2.0', id: { nested: true }, method: 'tools/list' },
      { jsonrpc: '1.0', id: 1, method: 'tools/list' },
      { jsonrpc: '2.0', id: 1, method: 42 },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: ['positional'] },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: '../../etc/passwd', arguments: {} } },
      { jsonrpc: '2.0', id: 1, result: {} },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
    ];
    for (const message of odd) await rpc(message);
  });

  it('confines resource reads to the change: no traversal, no absolute paths, no other scheme', async () => {
    assert.equal((await invoke('change.open', { slug: 'trap-change', title: 'Trap' })).status, 200);
    legit.add('trap-change');
    const uris = [
      'change://../../etc/passwd/proposal',
      'change://%2e%2e/%2e%2e/etc/passwd',
      'change:///etc/passwd',
      'change://trap-change/delta/../../../../../etc/passwd',
      'change://trap-change/delta/%2e%2e%2f%2e%2e%2f%2e%2e%2fproposal.md',
      'change://trap-change/delta//etc/passwd',
      'change://trap-change/delta/..\\..\\..\\etc\\passwd',
      'change://trap-change/delta/spec%00.md',
      'file:///etc/passwd',
      `change://trap-change/delta/${'a/'.repeat(2000)}spec.md`,
    ];
    for (const uri of uris) {
      const message = await readResource(uri);
      assert.ok(message.error, `${uri} was read`);
      assert.doesNotMatch(JSON.stringify(message), /root:x:0:0/);
    }
  });

  it('does not follow symlinks planted in the repo out of the change', async () => {
    const folder = path.join(s.repo.root, 'openspec/changes/trap-change');
    await mkdir(path.join(folder, 'specs/evil'), { recursive: true });
    await symlink('/etc/passwd', path.join(folder, 'specs/evil/spec.md'));
    await symlink('/etc', path.join(folder, 'specs/etc'));
    await rm(path.join(folder, 'tasks.md'));
    await symlink('/etc/passwd', path.join(folder, 'tasks.md'));
    for (const uri of [
      'change://trap-change/delta/evil/spec.md',
      'change://trap-change/delta/etc/passwd',
      'change://trap-change/tasks',
    ]) {
      const message = await readResource(uri);
      assert.ok(message.error, `${uri} followed a symlink`);
      assert.doesNotMatch(JSON.stringify(message), /root:x:0:0/);
    }
  });

  it('refuses a resource over the read size cap', async () => {
    const proposal = path.join(s.repo.root, 'openspec/changes/trap-change/proposal.md');
    await writeFile(proposal, `# Big\n${'x'.repeat(300 * 1024)}\n`);
    const message = await readResource('change://trap-change/proposal');
    assert.equal(message.error?.data?.code, 'ETOOLARGE');
  });

  it('survives thousands of distinct random slugs, refusing each invalid one and finding no change', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 80 }), async (slug) => {
        const res = await invoke('change.archive', { slug });
        // The contract's pattern refuses most; `archive` fits it but names the archive folder; the rest are absent.
        if (!SLUG.test(slug)) await assertRefusal(res, 400, 'EBADINPUT');
        else if (slug === 'archive') await assertRefusal(res, 400, 'EBADSLUG');
        else await assertRefusal(res, 404, 'ENOCHANGE');
      }),
      { numRuns: 1500 },
    );
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(SLUG), async (slug) => {
        const message = await readResource(`change://${slug}/proposal`);
        assert.ok(message.error || slug === 'trap-change');
      }),
      { numRuns: 1500 },
    );
  });

  it('opens a change under any title it accepts and refuses the rest, whatever the characters', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', minLength: 0, maxLength: 220 }), async (title) => {
        const slug = `title-${n++}`;
        const res = await invoke('change.open', { slug, title });
        if (res.status !== 200) return void (await assertRefusal(res, 400, 'EBADINPUT'));
        legit.add(slug);
        await res.arrayBuffer();
        const proposal = await readFile(path.join(s.repo.root, 'openspec/changes', slug, 'proposal.md'), 'utf8');
        assert.ok(proposal.length > 0);
      }),
      { numRuns: 40 },
    );
  });
});

describe('limits around a call', () => {
  let s: TestServer;
  before(async () => {
    s = await startHostileServer({ REQUEST_TIMEOUT_MS: '1' });
  });
  after(() => s.stop());

  it('answers 431 to headers over 8 KiB, and stays up', async () => {
    const res = await s.fetch(`${s.url}/healthz`, { headers: { 'X-Padding': 'x'.repeat(12 * 1024) } });
    assert.equal(res.status, 431);
    await res.arrayBuffer();
    assert.equal((await s.fetch(`${s.url}/healthz`)).status, 200);
  });

  it('answers ETIMEOUT past REQUEST_TIMEOUT_MS, and the call still completes in full', async () => {
    const res = await s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ slug: 'slow-change', title: 'Slow' }),
    });
    await assertRefusal(res, 503, 'ETIMEOUT');
    // Streams have no deadline: resuming the change over NDJSON shows the timed-out call finished it.
    let result: { created?: boolean; locked?: boolean } | undefined;
    for (let i = 0; i < 100 && result?.created !== false; i++) {
      const again = await s.authed('/v1/tools/change.open/invoke', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/x-ndjson' },
        body: JSON.stringify({ slug: 'slow-change', title: 'Slow' }),
      });
      const lines = (await again.text())
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      result = lines.find((l: { type: string }) => l.type === 'result')?.result;
    }
    assert.equal(result?.created, false, 'the change the timed-out call made is resumed, not made again');
    assert.equal(result?.locked, true);
    const folder = path.join(s.repo.root, 'openspec/changes/slow-change');
    for (const file of ['proposal.md', 'tasks.md'])
      assert.ok((await readFile(path.join(folder, file), 'utf8')).length > 0);
  });
});
