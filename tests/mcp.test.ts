/**
 * MCP over Streamable HTTP on the real server (`startServer`: the app `npm start` runs, real TLS, a temp git
 * repository, the real domain), driven by the official v2 client and by raw JSON-RPC POSTs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport, type ProtocolError } from '@modelcontextprotocol/client';
import { createChangeService } from '../src/changes/index.js';
import type { ChangeService } from '../src/changes/types.js';
import { loadContract } from '../src/contract/index.js';
import { TaskError } from '../src/errors.js';
import { createEventFeed } from '../src/events/feed.js';
import { createLifecycle } from '../src/lifecycle.js';
import { createMcp, ERROR_META_KEY } from '../src/mcp/index.js';
import { createToolPipeline } from '../src/tools/pipeline.js';
import { addedDelta, checkAllTasks, writeDelta } from './helpers/repo.js';
import { gitStatus, startServer, TOKENS, type TestServer } from './helpers/server.js';
import { testCertificate } from './helpers/tls.js';

const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;
const ALLOWED_ORIGIN = 'https://app.example.com';
const contract = loadContract();

async function connect(s: TestServer, era: 'modern' | 'legacy', token: string = TOKENS.alice): Promise<Client> {
  const client = new Client({ name: 'mcp-test', version: '1.0.0' }, era === 'modern' ? MODERN : {});
  const headers = { Authorization: `Bearer ${token}` };
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', s.url), { fetch: s.fetch, requestInit: { headers } }),
  );
  return client;
}

/** One raw JSON-RPC POST, as a 2025-era client without a session would send it. */
function post(s: TestServer, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return s.authed('/mcp', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
    body,
  });
}

/** The JSON-RPC reply of a POST, whether it came as one JSON body or as the last event of an SSE stream. */
async function reply(
  res: Response,
): Promise<{ result?: { tools: { inputSchema: unknown }[] }; error?: { code: number } }> {
  const text = await res.text();
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) return JSON.parse(text);
  const data = text.split('\n').filter((line) => line.startsWith('data: '));
  return JSON.parse(data.at(-1)!.slice(6));
}

/**
 * A raw request with a Host header of our choosing (fetch refuses to set one). The TLS name stays `localhost`:
 * Node would otherwise take it from the Host header and the certificate check would fail before the app is asked.
 */
async function postWithHost(s: TestServer, host: string, body: string): Promise<{ status: number; body: string }> {
  const { cert } = await testCertificate();
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL('/mcp', s.url),
      {
        method: 'POST',
        ca: cert,
        servername: 'localhost',
        headers: {
          Host: host,
          Authorization: `Bearer ${TOKENS.alice}`,
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
        },
      },
      (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (chunk) => (text += chunk))
          .on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens `slug` as alice over MCP and finishes it as an agent would: a valid delta, every task checked, committed. */
async function finishedChange(s: TestServer, slug: string): Promise<void> {
  const client = await connect(s, 'modern');
  const opened = await client.callTool({ name: 'change_open', arguments: { title: `Finish ${slug}`, slug } });
  assert.equal(opened.isError, undefined);
  await client.close();
  await writeDelta(s.repo.root, slug, 'search', addedDelta(`Search ${slug}`));
  await checkAllTasks(s.repo.root, slug);
  await s.repo.commit(`feat: ${slug}`);
}

const listRequest = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });

describe('MCP over Streamable HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ env: { CORS_ORIGINS: ALLOWED_ORIGIN } });
  });
  after(() => s.stop());

  for (const era of ['modern', 'legacy'] as const) {
    it(`lists change_open and change_archive with the contract's schemas (${era})`, async () => {
      const client = await connect(s, era);
      const { tools } = await client.listTools();
      assert.deepEqual(
        tools.map((t) => t.name),
        ['change_open', 'change_archive'],
      );
      assert.deepEqual(tools[0]!.inputSchema, contract.schema('ChangeOpenInput'));
      assert.deepEqual(tools[1]!.outputSchema, contract.schema('ChangeArchiveResult'));
      assert.ok(!JSON.stringify(tools).includes('$ref'), 'schemas travel self-contained');
      await client.close();
    });
  }

  it('accepts the dotted name in tools/call and returns structuredContent with a text rendering', async () => {
    const client = await connect(s, 'modern');
    const result = await client.callTool({
      name: 'change.open',
      arguments: { title: 'Add search', slug: 'add-search' },
    });
    assert.equal(result.isError, undefined);
    const sc = result.structuredContent as { slug: string; lock: { owner: string } };
    assert.equal(sc.slug, 'add-search');
    assert.equal(sc.lock.owner, 'alice', 'the caller is the actor');
    const text = (result.content as { type: string; text: string }[])[0]!.text;
    assert.match(text, /Opened change add-search/);
    assert.match(await gitStatus(s.repo), /openspec\/changes\/add-search\/proposal\.md/);
    await client.close();
  });

  it('reports a change locked by another owner as an isError result carrying ELOCKED', async () => {
    const alice = await connect(s, 'modern');
    await alice.callTool({ name: 'change_open', arguments: { title: 'Locked one', slug: 'locked-one' } });
    const before = await gitStatus(s.repo);
    const bob = await connect(s, 'legacy', TOKENS.bob);
    const result = await bob.callTool({ name: 'change_open', arguments: { title: 'Mine now', slug: 'locked-one' } });
    assert.equal(result.isError, true);
    assert.equal((result._meta?.[ERROR_META_KEY] as { code: string }).code, 'ELOCKED');
    assert.match((result.content as { text: string }[])[0]!.text, /^ELOCKED: /);
    assert.equal(await gitStatus(s.repo), before, 'the refused call changed nothing');
    await Promise.all([alice.close(), bob.close()]);
  });

  for (const era of ['modern', 'legacy'] as const) {
    it(`answers a bad slug with an isError result naming it and leaves the repo unchanged (${era})`, async () => {
      const client = await connect(s, era);
      const before = await gitStatus(s.repo);
      // Both eras of the v2 client speak 2025-11-25 or later, where bad arguments are a tool result (SEP-1303).
      const result = await client.callTool({ name: 'change_open', arguments: { title: 'x', slug: '../../etc' } });
      assert.equal(result.isError, true);
      assert.equal((result._meta?.[ERROR_META_KEY] as { code: string }).code, 'EBADINPUT');
      assert.match((result.content as { text: string }[])[0]!.text, /^EBADINPUT: .*slug: must match pattern/);
      assert.equal(await gitStatus(s.repo), before);
      await client.close();
    });
  }

  it('answers an unknown tool with invalid-params', async () => {
    const client = await connect(s, 'modern');
    await assert.rejects(
      client.callTool({ name: 'rm_rf', arguments: {} }),
      (err: ProtocolError) => err.code === -32602,
    );
    await client.close();
  });

  it('sends change_archive progress (validate, archive, receipt) when the client asks for it', async () => {
    await finishedChange(s, 'to-archive');
    const client = await connect(s, 'modern');
    const seen: { progress: number; total?: number; message?: string }[] = [];
    const result = await client.callTool(
      { name: 'change_archive', arguments: { slug: 'to-archive' } },
      { onprogress: (p) => seen.push(p) },
    );
    assert.equal(result.isError, undefined);
    assert.deepEqual(
      seen.map((p) => p.message),
      ['validate', 'archive', 'receipt'],
    );
    assert.deepEqual(
      seen.map((p) => [p.progress, p.total]),
      [
        [1, 3],
        [2, 3],
        [3, 3],
      ],
    );
    const archived = result.structuredContent as {
      archived: boolean;
      archivedAs: string;
      receiptUri: string;
      receipt: { slug: string; actor: string; archivedAs: string; specsUpdated: { capabilities: string[] } };
    };
    assert.equal(archived.archived, true);
    assert.match(archived.archivedAs, /^\d{4}-\d{2}-\d{2}-to-archive$/);
    assert.equal(archived.receiptUri, 'change://to-archive/receipt');
    assert.equal(archived.receipt.slug, 'to-archive');
    assert.equal(archived.receipt.actor, 'alice');
    assert.equal(archived.receipt.archivedAs, archived.archivedAs);
    assert.deepEqual(archived.receipt.specsUpdated.capabilities, ['search']);
    const receipt = await client.readResource({ uri: archived.receiptUri });
    assert.deepEqual(JSON.parse((receipt.contents[0] as { text: string }).text), archived.receipt);
    await client.close();
  });

  it('streams a progress-reporting call as SSE with proxy-proof headers', async () => {
    await finishedChange(s, 'sse-one');
    const archive = {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'change_archive', arguments: { slug: 'sse-one' }, _meta: { progressToken: 7 } },
    };
    const res = await post(s, JSON.stringify(archive));
    assert.equal(res.headers.get('content-type')?.split(';')[0], 'text/event-stream');
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    assert.equal(res.headers.get('cache-control'), 'no-cache, no-transform');
    const body = await res.text();
    assert.equal(body.match(/"notifications\/progress"/g)?.length, 3);
    assert.match(body, /"archived":true/);
    assert.match(body, /"receiptUri":"change:\/\/sse-one\/receipt"/);
  });

  it('offers the resources and maps a domain refusal to its JSON-RPC code', async () => {
    const client = await connect(s, 'modern');
    const { resources } = await client.listResources();
    assert.deepEqual(
      resources.map((r) => r.uri),
      ['changes://active'],
    );
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(
      resourceTemplates.map((t) => t.uriTemplate),
      ['change://{slug}/proposal', 'change://{slug}/tasks', 'change://{slug}/delta/{+path}', 'change://{slug}/receipt'],
    );
    await client.callTool({ name: 'change_open', arguments: { title: 'Readable', slug: 'readable' } });
    const read = await client.readResource({ uri: 'change://readable/proposal' });
    assert.match((read.contents[0] as { text: string }).text, /# Readable/);
    await assert.rejects(
      client.readResource({ uri: 'change://missing/proposal' }),
      // -32602 is the 2026-07-28 code for a missing resource (ENOCHANGE's, from that revision on); data keeps ours.
      (err: ProtocolError) => err.code === -32602 && (err.data as { code: string }).code === 'ENOCHANGE',
    );
    await client.close();
  });

  it('keeps the listing intact across requests (built once, never mutated)', async () => {
    const first = await reply(await post(s, listRequest));
    const second = await reply(await post(s, listRequest));
    assert.deepEqual(first, second);
    assert.deepEqual(contract.schema('ChangeOpenInput'), first.result?.tools[0]?.inputSchema);
  });

  it('refuses a missing or wrong token with 401 EAUTH', async () => {
    for (const auth of [undefined, 'Bearer not-a-token-at-all-0000']) {
      const res = await s.fetch(`${s.url}/mcp`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(auth && { Authorization: auth }) },
        body: listRequest,
      });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).code, 'EAUTH');
    }
  });

  it('refuses an Origin outside the allowlist and a foreign Host with 403 EFORBIDDEN', async () => {
    const before = await gitStatus(s.repo);
    const call = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'change_open', arguments: { title: 'Evil', slug: 'evil-one' } },
    });
    for (const headers of [{ Origin: 'https://evil.example' }, { Origin: 'null' }]) {
      const res = await post(s, call, headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.equal((await res.json()).code, 'EFORBIDDEN');
    }
    const rebound = await postWithHost(s, 'evil.example:80', call);
    assert.equal(rebound.status, 403);
    assert.equal(JSON.parse(rebound.body).code, 'EFORBIDDEN');
    assert.equal(await gitStatus(s.repo), before);
    const allowed = await post(s, listRequest, { Origin: ALLOWED_ORIGIN });
    assert.equal(allowed.status, 200);
    await allowed.text();
  });

  it('refuses a body that is not JSON (400 EBADJSON) or not JSON-RPC (400, JSON-RPC -32600)', async () => {
    const bad = await post(s, '{"jsonrpc":"2.0", "id": 1, "method": ');
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).code, 'EBADJSON');
    // The router leaves JSON-RPC envelopes to the SDK, which answers MCP clients in their own terms.
    const notRpc = await post(s, JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'tools/list' }));
    assert.equal(notRpc.status, 400);
    assert.equal((await notRpc.json()).error.code, -32600);
  });

  it('answers GET and DELETE /mcp with 405, Allow: POST and EMETHOD', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await s.authed('/mcp', { method });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'POST');
      assert.equal((await res.json()).code, 'EMETHOD');
    }
  });
});

describe('MCP tool names and faults', () => {
  it('advertises the dotted names with MCP_TOOL_NAMES=dotted', async () => {
    const s = await startServer({ env: { MCP_TOOL_NAMES: 'dotted' } });
    try {
      const client = await connect(s, 'modern');
      assert.deepEqual(
        (await client.listTools()).tools.map((t) => t.name),
        ['change.open', 'change.archive'],
      );
      await client.close();
    } finally {
      await s.stop();
    }
  });

  it('turns an unknown domain fault into -32603 without its message, stack or paths', async () => {
    const decorateService = (service: ChangeService): ChangeService => ({
      ...service,
      open: async () => {
        throw new Error('EACCES: /srv/secret/repo/openspec at Object.open (/app/src/x.ts:1:1)');
      },
      readResource: async () => {
        throw new Error('/srv/secret/repo exploded');
      },
      archive: async () => {
        throw new TaskError('ETASKS_INCOMPLETE', '2 tasks are open.', { details: { open: ['1.1', '1.2'] } });
      },
    });
    const s = await startServer({ decorateService });
    try {
      const client = await connect(s, 'modern');
      await assert.rejects(
        client.callTool({ name: 'change_open', arguments: { title: 'x', slug: 'boom-one' } }),
        (err: ProtocolError) => err.code === -32603 && !/secret|src|EACCES/.test(JSON.stringify(err)),
      );
      await assert.rejects(
        client.readResource({ uri: 'changes://active' }),
        (err: ProtocolError) => err.code === -32603 && !/secret/.test(JSON.stringify(err)),
      );
      const refused = await client.callTool({ name: 'change_archive', arguments: { slug: 'boom-one' } });
      assert.equal(refused.isError, true);
      assert.deepEqual(refused._meta?.[ERROR_META_KEY], {
        code: 'ETASKS_INCOMPLETE',
        message: '2 tasks are open.',
        details: { open: ['1.1', '1.2'] },
      });
      await client.close();
    } finally {
      await s.stop();
    }
  });

  it('answers a tool call past REQUEST_TIMEOUT_MS with an ETIMEOUT result, and the call still completes', async () => {
    let finished: Promise<unknown> | undefined;
    const decorateService = (service: ChangeService): ChangeService => ({
      ...service,
      open: (input, ctx) => {
        const slow = new Promise((resolve) => setTimeout(resolve, 300)).then(() => service.open(input, ctx));
        finished = slow;
        return slow;
      },
    });
    const s = await startServer({ decorateService, env: { REQUEST_TIMEOUT_MS: '100' } });
    try {
      const client = await connect(s, 'modern');
      const late = await client.callTool({ name: 'change_open', arguments: { title: 'Slow', slug: 'slow-one' } });
      assert.equal(late.isError, true);
      assert.equal((late._meta?.[ERROR_META_KEY] as { code: string }).code, 'ETIMEOUT');
      assert.equal(((await finished) as { created: boolean }).created, true, 'the late call completed');
      const proposal = join(s.repo.root, 'openspec/changes/slow-one/proposal.md');
      assert.match(readFileSync(proposal, 'utf8'), /Slow/);
      await client.close();
    } finally {
      await s.stop();
    }
  });

  it('rejects options that cannot work when built', async () => {
    // Nothing is read or served at build time, so the service needs no repository.
    const service = createChangeService({ repoRoot: tmpdir(), events: { emit() {} }, version: '0.0.0-test' });
    const pipeline = createToolPipeline({ service, contract, lifecycle: createLifecycle(), callTimeoutMs: 30_000 });
    const options = {
      pipeline,
      resources: service,
      contract,
      version: '0.0.0-test',
      heartbeatMs: 25_000,
      feed: createEventFeed({ ringSize: 10 }),
      maxStreams: 10,
      bindHost: '127.0.0.1',
      toolNames: 'safe',
    } as const;
    await createMcp(options).close();
    assert.throws(() => createMcp({ ...options, toolNames: 'both' as 'safe' }), /toolNames must be 'safe' or 'dotted'/);
  });
});
