/**
 * Hostile input through MCP over Streamable HTTP: JSON-RPC batches, unknown methods and odd envelopes, each with its
 * exact status and JSON-RPC code per protocol revision; path traversal through resources (`..`, encoded, absolute,
 * symlinks planted in the repo); the resource size cap; thousands of distinct random slugs and arbitrary titles
 * (fast-check). Live HTTP+SSE sessions: tests/hostile-mcp-sse.test.ts; oversized headers and a call past
 * REQUEST_TIMEOUT_MS: tests/hostile-call-limits.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import type { ErrorCode } from '../src/errors.js';
import { assertIntact, assertNoLeak, assertRefusal, useHostileServer } from './helpers/hostile.js';
import { mcpRequest } from './helpers/mcp-request.js';
import { readRpc, rpcAt, type RpcExchange } from './helpers/mcp-rpc.js';
import { TOKENS } from './helpers/server.js';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{1,62})[a-z0-9]$/;
const MODERN = '2026-07-28';
/** A 2025-03-26 client (no version header), the two later 2025 revisions (which send one), and 2026-07-28. */
const REVISIONS = ['2025-03-26', '2025-06-18', '2025-11-25', MODERN] as const;
type Revision = (typeof REVISIONS)[number];

/** A value per revision, each applying from the revision it is keyed by (as in the contract's error map). */
const since =
  <T>(values: Partial<Record<Revision, T>>) =>
  (revision: Revision): T =>
    Object.entries(values)
      .filter(([from]) => from <= revision)
      .at(-1)![1] as T;

/*
 * The arbitraries are built here, at import, before the server starts. fast-check builds its table of code points on
 * the first `unit: 'binary'` string (about 1 s of CPU; half a minute at a load average of 20 on 2 cores), and the
 * server under test shares this process's event loop: built inside a test, that freeze outlasts the server's 5 s
 * keep-alive timeout on the connection the client keeps idle, and once the loop runs again the client's next
 * request is written into it before the server's lapsed idle timer fires and resets it (ECONNRESET, "fetch failed").
 */
/** Any string up to 80 code points, as a slug. */
const SLUG_CANDIDATES = fc.string({ unit: 'binary', maxLength: 80 }).filter((slug) => slug !== 'trap-change');
/** Well-formed slugs of changes nobody opened. */
const FREE_SLUGS = fc.stringMatching(SLUG).filter((slug) => slug !== 'trap-change');
/** Any string up to 220 code points, as a title. */
const TITLES = fc.string({ unit: 'binary', minLength: 0, maxLength: 220 });

/** A missing resource: -32002 up to 2025-11-25, -32602 from 2026-07-28 (resources, "Error Handling"; SEP-2164). */
const NOT_FOUND = since({ '2025-03-26': -32002, [MODERN]: -32602 });

/** What a reply must be: a problem+json refusal with its code, or JSON-RPC messages (id, and error code or a result). */
type Expected = { status: number; problem: ErrorCode } | { status: number; rpc: Array<{ id: unknown; code?: number }> };

/** `body` with the 2026-07-28 `_meta` envelope in the params of each request or notification that has room. */
function enveloped(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(enveloped);
  const message = body as { method?: unknown; params?: unknown } | null;
  const params = message !== null && 'params' in message ? message.params : {};
  if (typeof message?.method !== 'string' || typeof params !== 'object' || params === null || Array.isArray(params))
    return body;
  const meta = JSON.parse(mcpRequest(TOKENS.alice, message.method).body).params._meta;
  return { ...message, params: { ...params, _meta: meta } };
}

/** Asserts `reply` is exactly `expected`, and leaks nothing. */
function assertReply(reply: RpcExchange & { text: string }, expected: Expected, what: string): void {
  assert.equal(reply.status, expected.status, `${what}: ${reply.text.slice(0, 300)}`);
  if ('problem' in expected) {
    assert.equal(reply.contentType, 'application/problem+json', what);
    assert.equal((reply.messages[0] as { code?: string }).code, expected.problem, what);
    return;
  }
  const seen = reply.messages.map((m) => ({ id: m.id, ...(m.error ? { code: m.error.code } : {}) }));
  assert.deepEqual(seen, expected.rpc, `${what}: ${reply.text.slice(0, 300)}`);
}

describe('hostile input through MCP', () => {
  const s = useHostileServer();
  const legit = new Set<string>();
  afterEach(() => assertIntact(s, legit));

  /** POSTs `body` to /mcp as a client of `revision` would (its headers, and the envelope from 2026-07-28). */
  const post = async (revision: Revision, body: unknown): Promise<RpcExchange & { text: string }> => {
    if (revision !== MODERN) {
      const res = await s.authed('/mcp', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          ...(revision !== '2025-03-26' && { 'MCP-Protocol-Version': revision }),
        },
        body: JSON.stringify(body),
      });
      const text = await assertNoLeak(res.clone());
      return { ...(await readRpc(res)), text };
    }
    const first = (Array.isArray(body) ? body[0] : body) as { method?: unknown; params?: { name?: unknown } } | null;
    const method = typeof first?.method === 'string' ? first.method : 'ping';
    const name = typeof first?.params?.name === 'string' ? { name: first.params.name } : {};
    const request = { ...mcpRequest(TOKENS.alice, method, name), body: JSON.stringify(enveloped(body)) };
    const res = await s.fetch(`${s.url}/mcp`, request);
    const text = await assertNoLeak(res.clone());
    return { ...(await readRpc(res)), text };
  };
  const invoke = (tool: string, body: unknown) =>
    s.authed(`/v1/tools/${tool}/invoke`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  /** The JSON-RPC error of a resources/read at `revision`. */
  const readError = async (revision: Revision, uri: string) => {
    const reply = await rpcAt(s, revision, 'resources/read', { uri });
    assert.doesNotMatch(JSON.stringify(reply), /root:x:0:0/, `${uri} was read`);
    return reply;
  };

  const list = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/list' });
  /** One batch: accepted as 2025-03-26 allowed; refused from 2025-06-18, which made a POST one message. */
  const batch = (accepted: Expected) =>
    since<Expected>({ '2025-03-26': accepted, '2025-06-18': { status: 400, problem: 'EBADINPUT' } });
  /** The SDK's refusal of a message that breaks the JSON-RPC schema: 400, -32600, with the id when it is usable. */
  const invalid = (id: unknown): Expected => ({ status: 400, rpc: [{ id, code: -32600 }] });
  const cases: Array<[string, unknown, (revision: Revision) => Expected]> = [
    ['an empty batch', [], batch(invalid(null))],
    ['a batch of two', [list(1), list(2)], batch({ status: 200, rpc: [{ id: 1 }, { id: 2 }] })],
    ['a batch over 100', Array.from({ length: 500 }, (_, id) => list(id)), batch(invalid(null))],
    [
      'an unknown method',
      { jsonrpc: '2.0', id: 1, method: 'no/such/method' },
      since<Expected>({
        '2025-03-26': { status: 200, rpc: [{ id: 1, code: -32601 }] },
        [MODERN]: { status: 404, rpc: [{ id: 1, code: -32601 }] },
      }),
    ],
    ['an object id', { jsonrpc: '2.0', id: { nested: true }, method: 'tools/list' }, () => invalid(null)],
    ['JSON-RPC 1.0', { jsonrpc: '1.0', id: 1, method: 'tools/list' }, () => invalid(1)],
    ['a numeric method', { jsonrpc: '2.0', id: 1, method: 42 }, () => invalid(null)],
    ['positional params', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: ['positional'] }, () => invalid(1)],
    ['no method, result or error', { jsonrpc: '2.0', id: 7 }, () => invalid(null)],
    ['params: null', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: null }, () => invalid(1)],
    [
      'a path as a tool name',
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: '../../etc/passwd', arguments: {} } },
      () => ({ status: 200, rpc: [{ id: 1, code: -32602 }] }),
    ],
    [
      'an initialize without params',
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} },
      // 2026-07-28 has no initialize: it is an unknown method there.
      since<Expected>({
        '2025-03-26': { status: 200, rpc: [{ id: 1, code: -32602 }] },
        [MODERN]: { status: 404, rpc: [{ id: 1, code: -32601 }] },
      }),
    ],
    [
      'a response nobody asked for',
      { jsonrpc: '2.0', id: 1, result: {} },
      // A response carries no envelope, so a 2026-07-28 header on it names a revision 2025-era serving lacks.
      since<Expected>({
        '2025-03-26': { status: 202, rpc: [] },
        [MODERN]: { status: 400, rpc: [{ id: null, code: -32000 }] },
      }),
    ],
    ['a notification', { jsonrpc: '2.0', method: 'notifications/initialized' }, () => ({ status: 202, rpc: [] })],
  ];

  for (const revision of REVISIONS) {
    it(`answers batches, unknown methods and odd envelopes exactly, as a ${revision} client`, async () => {
      for (const [what, body, expected] of cases) assertReply(await post(revision, body), expected(revision), what);
    });
  }

  /** Asserts a resources/read at `revision` failed with `code`, numbered as that revision says. */
  const assertReadRefused = async (revision: Revision, uri: string, code: ErrorCode) => {
    const { status, messages } = await readError(revision, uri);
    assert.equal(status, 200, uri);
    const error = messages[0]?.error;
    assert.equal(error?.data?.code, code, `${uri} at ${revision}: ${JSON.stringify(messages)}`);
    assert.equal(error.code, code === 'ENOCHANGE' ? NOT_FOUND(revision) : code === 'ETOOLARGE' ? -32600 : -32602, uri);
  };

  it('confines resource reads to the change: no traversal, no absolute paths, no other scheme', async () => {
    assert.equal((await invoke('change.open', { slug: 'trap-change', title: 'Trap' })).status, 200);
    legit.add('trap-change');
    const uris: Array<[string, ErrorCode]> = [
      ['change://../../etc/passwd/proposal', 'ENOCHANGE'],
      ['change://%2e%2e/%2e%2e/etc/passwd', 'ENOCHANGE'],
      ['change:///etc/passwd', 'ENOCHANGE'],
      ['change://trap-change/delta/../../../../../etc/passwd', 'EPATH_ESCAPE'],
      ['change://trap-change/delta/%2e%2e%2f%2e%2e%2f%2e%2e%2fproposal.md', 'EPATH_ESCAPE'],
      ['change://trap-change/delta//etc/passwd', 'EPATH_ESCAPE'],
      ['change://trap-change/delta/..\\..\\..\\etc\\passwd', 'EPATH_ESCAPE'],
      ['change://trap-change/delta/spec%00.md', 'EPATH_ESCAPE'],
      ['file:///etc/passwd', 'ENOCHANGE'],
    ];
    for (const revision of ['2025-11-25', MODERN] as const) {
      for (const [uri, code] of uris) await assertReadRefused(revision, uri, code);
    }
    // A path longer than any file could have names nothing (ENAMETOOLONG); 2026-07-28 repeats the URI in the
    // Mcp-Name header, which the contract caps at 256 characters.
    const long = `change://trap-change/delta/${'a/'.repeat(2000)}spec.md`;
    await assertReadRefused('2025-11-25', long, 'ENOCHANGE');
    const { status, contentType, messages } = await readError(MODERN, long);
    assert.equal(status, 400);
    assert.equal(contentType, 'application/problem+json');
    assert.deepEqual((messages[0] as { errors?: unknown }).errors, [
      { location: 'header/mcp-name', message: 'must NOT have more than 256 characters' },
    ]);
  });

  it('does not follow symlinks planted in the repo out of the change (EPATH_ESCAPE)', async () => {
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
      for (const revision of ['2025-11-25', MODERN] as const) await assertReadRefused(revision, uri, 'EPATH_ESCAPE');
    }
  });

  it('refuses a resource over the read size cap (ETOOLARGE, -32600)', async () => {
    const proposal = path.join(s.repo.root, 'openspec/changes/trap-change/proposal.md');
    await writeFile(proposal, `# Big\n${'x'.repeat(300 * 1024)}\n`);
    for (const revision of ['2025-11-25', MODERN] as const) {
      await assertReadRefused(revision, 'change://trap-change/proposal', 'ETOOLARGE');
    }
  });

  it('refuses thousands of distinct random slugs: 400 EBADINPUT unless a slug, else 404 ENOCHANGE', async () => {
    await fc.assert(
      fc.asyncProperty(SLUG_CANDIDATES, async (slug) => {
        const res = await invoke('change.archive', { slug });
        if (!SLUG.test(slug)) await assertRefusal(res, 400, 'EBADINPUT');
        else if (slug === 'archive') await assertRefusal(res, 400, 'EBADSLUG');
        else await assertRefusal(res, 404, 'ENOCHANGE');
      }),
      { numRuns: 1500 },
    );
    await fc.assert(
      fc.asyncProperty(
        FREE_SLUGS,
        async (slug) => await assertReadRefused('2025-11-25', `change://${slug}/proposal`, 'ENOCHANGE'),
      ),
      { numRuns: 1500 },
    );
  });

  it('opens a change under any title of 1–200 characters on one line, and refuses the rest with 400', async () => {
    let n = 0;
    // The contract's rule: 1–200 code points on one line, not blank.
    const fits = (title: string) =>
      [...title].length >= 1 && [...title].length <= 200 && title.trim() !== '' && !/[\r\n]/.test(title);
    await fc.assert(
      fc.asyncProperty(TITLES, async (title) => {
        const slug = `title-${n++}`;
        const res = await invoke('change.open', { slug, title });
        if (!fits(title)) return void (await assertRefusal(res, 400, 'EBADINPUT'));
        const body = (await res.json()) as { created?: boolean };
        assert.deepEqual([res.status, body.created], [200, true], JSON.stringify(title));
        legit.add(slug);
        const proposal = await readFile(path.join(s.repo.root, 'openspec/changes', slug, 'proposal.md'), 'utf8');
        assert.ok(proposal.startsWith(`# ${title.trim()}\n`));
      }),
      { numRuns: 40 },
    );
  });
});
