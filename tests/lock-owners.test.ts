/**
 * Lock owners belong to the caller (src/changes/owner.ts): on the real server, over the HTTP invoke route and over
 * MCP (Streamable HTTP with the v2 client, HTTP+SSE with the v1 client), alice cannot renew bob's lock or archive
 * bob's locked change by naming `owner: "bob"`, and can hold locks as her own sub-owners (`alice/x`). The domain's
 * own rule, without any transport, is checked on a real repository too.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { ERROR_META_KEY } from '../src/mcp/index.js';
import { readChecked } from './helpers/contract.js';
import { addedDelta, checkAllTasks, rejectsWith, writeDelta, useServedRepo } from './helpers/repo.js';
import { gitStatus, TOKENS, type TestServer, useServer } from './helpers/server.js';

const DAY = 86_400;

/** The lock file of `slug` as written on disk. */
const lockOnDisk = async (root: string, slug: string): Promise<{ owner: string; since: string; ttl: number }> =>
  JSON.parse(await readFile(path.join(root, 'openspec', 'changes', slug, '.lock'), 'utf8'));

/** A JSON tool call through `/v1/tools/{tool}/invoke` with `token`. */
const invoke = (s: TestServer, tool: string, body: unknown, token: string) =>
  s.fetch(`${s.url}/v1/tools/${tool}/invoke`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });

/** Opens `slug` as `token`'s caller and finishes it as an agent would, so that it could be archived at once. */
async function finishedChange(s: TestServer, slug: string, token: string, owner?: string): Promise<void> {
  const res = await invoke(s, 'change.open', { slug, title: `Finish ${slug}`, ...(owner && { owner }) }, token);
  assert.equal(res.status, 200, await res.text());
  await writeDelta(s.repo.root, slug, slug, addedDelta(`Serve ${slug}`));
  await checkAllTasks(s.repo.root, slug);
  await s.repo.commit(`feat: ${slug}`);
}

/** Asserts a 403 EFOREIGN_OWNER problem, as the contract declares it, naming both owner and caller. */
async function assertForeignOwner(res: Response, owner: string, actor: string): Promise<void> {
  const { body, issues } = await readChecked('invokeTool', res);
  assert.equal(res.status, 403);
  assert.deepEqual(issues, []);
  const problem = body as { code: string; title: string; details: unknown };
  assert.deepEqual(
    { code: problem.code, title: problem.title, details: problem.details },
    { code: 'EFOREIGN_OWNER', title: 'The owner belongs to another caller', details: { owner, actor } },
  );
}

describe('lock owners over HTTP invoke and MCP', () => {
  const s = useServer();
  before(() => finishedChange(s, 'bobs-change', TOKENS.bob));

  it("refuses alice renewing bob's lock or archiving bob's locked change as owner bob, over HTTP invoke", async () => {
    const lock = await lockOnDisk(s.repo.root, 'bobs-change');
    const before = await gitStatus(s.repo);
    const renew = { slug: 'bobs-change', title: 'Mine now', owner: 'bob', ttl: DAY };
    await assertForeignOwner(await invoke(s, 'change.open', renew, TOKENS.alice), 'bob', 'alice');
    const archive = { slug: 'bobs-change', owner: 'bob' };
    await assertForeignOwner(await invoke(s, 'change_archive', archive, TOKENS.alice), 'bob', 'alice');
    // Lookalikes of bob's namespace are not alice's either.
    for (const owner of ['bob/alice', 'alice2', 'alic']) {
      await assertForeignOwner(await invoke(s, 'change.open', { ...renew, owner }, TOKENS.alice), owner, 'alice');
    }
    assert.deepEqual(await lockOnDisk(s.repo.root, 'bobs-change'), lock, "bob's lock is untouched");
    assert.equal(await gitStatus(s.repo), before, 'nothing was archived or written');
  });

  const mcpClients = {
    'Streamable HTTP, v2 client': async (token: string) => {
      const client = new Client(
        { name: 'owners', version: '1' },
        { versionNegotiation: { mode: { pin: '2026-07-28' } } },
      );
      const requestInit = { headers: { Authorization: `Bearer ${token}` } };
      await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', s.url), { fetch: s.fetch, requestInit }));
      return client as Pick<Client, 'callTool' | 'close'>;
    },
    'HTTP+SSE, v1 client': async (token: string) => {
      const client = new V1Client({ name: 'owners', version: '1' });
      const requestInit = { headers: { Authorization: `Bearer ${token}` } };
      await client.connect(new SSEClientTransport(new URL('/sse', s.url), { fetch: s.fetch, requestInit }));
      return client as unknown as Pick<Client, 'callTool' | 'close'>;
    },
  };

  for (const [transport, connect] of Object.entries(mcpClients)) {
    it(`refuses the same over MCP as an isError result carrying EFOREIGN_OWNER (${transport})`, async () => {
      const lock = await lockOnDisk(s.repo.root, 'bobs-change');
      const alice = await connect(TOKENS.alice);
      const calls = [
        { name: 'change_open', arguments: { slug: 'bobs-change', title: 'Mine now', owner: 'bob', ttl: DAY } },
        { name: 'change_archive', arguments: { slug: 'bobs-change', owner: 'bob' } },
      ];
      for (const call of calls) {
        const result = await alice.callTool(call);
        assert.equal(result.isError, true, call.name);
        assert.deepEqual(result._meta?.[ERROR_META_KEY], {
          code: 'EFOREIGN_OWNER',
          message: 'The owner "bob" is not "alice" or one of its sub-owners.',
          hint: 'Leave owner out to act as "alice", or name a sub-owner such as "alice/agent-1".',
          details: { owner: 'bob', actor: 'alice' },
        });
      }
      assert.deepEqual(await lockOnDisk(s.repo.root, 'bobs-change'), lock, "bob's lock is untouched");
      await alice.close();
    });
  }

  it("lets alice hold locks as her sub-owners, which exclude each other, and archive as the lock's sub-owner", async () => {
    const alice = await mcpClients['Streamable HTTP, v2 client'](TOKENS.alice);
    const opened = await alice.callTool({
      name: 'change_open',
      arguments: { slug: 'alices-change', title: 'Agent one', owner: 'alice/agent-1' },
    });
    assert.equal(opened.isError, undefined, JSON.stringify(opened.content));
    assert.equal((opened.structuredContent as { lock: { owner: string } }).lock.owner, 'alice/agent-1');
    assert.equal((await lockOnDisk(s.repo.root, 'alices-change')).owner, 'alice/agent-1');
    for (const owner of ['alice/agent-2', undefined]) {
      const other = await alice.callTool({
        name: 'change_open',
        arguments: { slug: 'alices-change', title: 'Another agent', ...(owner && { owner }) },
      });
      assert.equal((other._meta?.[ERROR_META_KEY] as { code: string }).code, 'ELOCKED', String(owner));
    }
    await alice.close();

    await writeDelta(s.repo.root, 'alices-change', 'alices-change', addedDelta('Serve alice'));
    await checkAllTasks(s.repo.root, 'alices-change');
    await s.repo.commit('feat: alices-change');
    const archived = await invoke(s, 'change.archive', { slug: 'alices-change', owner: 'alice/agent-1' }, TOKENS.alice);
    const body = (await archived.json()) as { archived: boolean; receipt: { actor: string } };
    assert.equal(archived.status, 200, JSON.stringify(body));
    assert.deepEqual({ archived: body.archived, actor: body.receipt.actor }, { archived: true, actor: 'alice' });
  });

  it('lets bob, the owner, archive his own change', async () => {
    const res = await invoke(s, 'change.archive', { slug: 'bobs-change' }, TOKENS.bob);
    assert.equal(res.status, 200, await res.text());
  });
});

describe('lock owners in the domain', () => {
  const { repo, h } = useServedRepo();

  it("refuses an owner outside the actor's namespace with EFOREIGN_OWNER, before touching anything", async () => {
    await h.service.open({ slug: 'carols-change', title: 'Carol' }, { actor: 'carol' });
    const lock = await lockOnDisk(repo.root, 'carols-change');
    const steal = { slug: 'carols-change', title: 'Mine', owner: 'carol', ttl: DAY };
    const err = await rejectsWith(h.service.open(steal, { actor: 'dave' }), 'EFOREIGN_OWNER', repo.root);
    assert.deepEqual(err.details, { owner: 'carol', actor: 'dave' });
    await rejectsWith(
      h.service.archive({ slug: 'carols-change', owner: 'carol' }, { actor: 'dave' }),
      'EFOREIGN_OWNER',
    );
    // Even where nothing is locked: the rule is about who may act as whom, not about this change.
    await rejectsWith(
      h.service.open({ slug: 'new-one', title: 'New', owner: 'carol' }, { actor: 'dave' }),
      'EFOREIGN_OWNER',
    );
    assert.deepEqual(await lockOnDisk(repo.root, 'carols-change'), lock);
    assert.deepEqual(
      h.events.map((e) => [e.type, e.slug, e.actor]),
      [['change.opened', 'carols-change', 'carol']],
    );
  });

  it('refuses a malformed owner with EBADINPUT', async () => {
    for (const owner of ['carol/', '/x', 'carol/a/b', 'carol/../x', `carol/${'x'.repeat(65)}`, '']) {
      await rejectsWith(h.service.open({ slug: 'odd-owner', title: 'Odd', owner }, { actor: 'carol' }), 'EBADINPUT');
    }
  });
});
