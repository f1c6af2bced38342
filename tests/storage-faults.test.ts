/**
 * A repository on a real, small tmpfs (the tests run as root): remounted read-only, a call gets 503 EREADONLY and
 * readiness fails its `writable` check; filled up, a call gets 507 ENOSPACE; on every transport the code is the
 * same (problem+json, an NDJSON `error` event, an MCP `isError` result with the code in `_meta`), never 500
 * EINTERNAL; and both recover by themselves once the operator fixes the disk.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ERROR_META_KEY } from '../src/mcp/index.js';
import { readChecked } from './helpers/contract.js';
import { createTempRepo, type TempRepo } from './helpers/repo.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
const FILLER = 'filler.bin';

const openRequest = (slug: string, accept = 'application/json'): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Accept: accept },
  body: JSON.stringify({ slug, title: `Open ${slug}` }),
});

/** The problem of a JSON invoke, checked against the contract. */
async function problemOf(res: Response): Promise<{ status: number; code: string; hint?: string; detail: string }> {
  const { body, issues } = await readChecked('invokeTool', res);
  assert.deepEqual(issues, []);
  return body as { status: number; code: string; hint?: string; detail: string };
}

/** The MCP `isError` result of `change_open`, over the real SDK client. */
async function mcpOpen(s: TestServer, slug: string): Promise<{ isError?: boolean; _meta?: Record<string, unknown> }> {
  const client = new Client({ name: 'storage-test', version: '1.0.0' });
  const requestInit = { headers: { Authorization: `Bearer ${TOKENS.alice}` } };
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', s.url), { fetch: s.fetch, requestInit }));
  try {
    return (await client.callTool({ name: 'change_open', arguments: { slug, title: `Open ${slug}` } })) as {
      isError?: boolean;
      _meta?: Record<string, unknown>;
    };
  } finally {
    await client.close();
  }
}

/** The `error` event's problem of an NDJSON invoke. */
async function ndjsonError(s: TestServer, slug: string): Promise<{ code: string }> {
  const res = await s.authed('/v1/tools/change.open/invoke', openRequest(slug, 'application/x-ndjson'));
  assert.equal(res.status, 200);
  const events = (await res.text())
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; error?: { code: string } });
  const failed = events.find((event) => event.type === 'error');
  assert.ok(failed?.error, `an error event: ${JSON.stringify(events)}`);
  return failed.error;
}

describe('a repository on a read-only or full file system', () => {
  let mountPoint: string;
  let repo: TempRepo;
  let s: TestServer;

  before(async () => {
    mountPoint = await mkdtemp(path.join(tmpdir(), 'task-mcp-mount-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint]);
    repo = await createTempRepo({ parent: mountPoint });
    s = await startServer({ repo });
    // OpenSpec's layout is made by the first open: done here, on a writable disk.
    const first = await s.authed('/v1/tools/change.open/invoke', openRequest('first-change'));
    assert.equal(first.status, 200);
  });
  after(async () => {
    await s?.stop();
    await run('umount', ['-l', mountPoint]).catch(() => undefined);
    await rmdir(mountPoint).catch(() => undefined);
  });

  describe('read-only', () => {
    before(() => run('mount', ['-o', 'remount,ro', mountPoint]));
    after(() => run('mount', ['-o', 'remount,rw', mountPoint]));

    it('answers change.open with 503 EREADONLY and a hint, not 500 EINTERNAL', async () => {
      const res = await s.authed('/v1/tools/change.open/invoke', openRequest('on-read-only'));
      const problem = await problemOf(res);
      assert.equal(res.status, 503);
      assert.equal(problem.code, 'EREADONLY');
      assert.match(problem.hint ?? '', /read-write/);
      assert.ok(!problem.detail.includes(mountPoint), 'no server path in the answer');
    });

    it('answers change.archive with 503 EREADONLY', async () => {
      const res = await s.authed('/v1/tools/change.archive/invoke', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ slug: 'first-change' }),
      });
      assert.equal(res.status, 503);
      assert.equal((await problemOf(res)).code, 'EREADONLY');
    });

    it('gives the same code on the NDJSON stream and over MCP', async () => {
      assert.equal((await ndjsonError(s, 'on-read-only')).code, 'EREADONLY');
      const result = await mcpOpen(s, 'on-read-only');
      assert.equal(result.isError, true);
      assert.equal((result._meta?.[ERROR_META_KEY] as { code: string }).code, 'EREADONLY');
    });

    it('fails readiness with 503 naming the writable check', async () => {
      const res = await s.fetch(`${s.url}/readyz`);
      const { body, issues } = await readChecked('getReadiness', res);
      assert.equal(res.status, 503);
      assert.deepEqual(issues, []);
      const problem = body as { code: string; details: { checks: Record<string, string> } };
      assert.equal(problem.code, 'EUNAVAILABLE');
      assert.equal(problem.details.checks.writable, 'fail');
      assert.equal(problem.details.checks.repo, 'ok');
    });
  });

  it('is ready again once the repository is writable', async () => {
    const res = await s.fetch(`${s.url}/readyz`);
    assert.equal(res.status, 200, await res.text());
  });

  describe('full', () => {
    before(async () => {
      const filler = path.join(mountPoint, FILLER);
      const chunk = Buffer.alloc(64 * 1024);
      for (;;) {
        const full = await appendFile(filler, chunk).then(
          () => false,
          (err: NodeJS.ErrnoException) => err.code === 'ENOSPC' || Promise.reject(err),
        );
        if (full) break;
      }
    });
    after(() => rm(path.join(mountPoint, FILLER), { force: true }));

    it('answers change.open with 507 ENOSPACE and a hint, on every transport', async () => {
      const res = await s.authed('/v1/tools/change.open/invoke', openRequest('on-full-disk'));
      const problem = await problemOf(res);
      assert.equal(res.status, 507);
      assert.equal(problem.code, 'ENOSPACE');
      assert.match(problem.hint ?? '', /free space/i);
      assert.equal((await ndjsonError(s, 'on-full-disk')).code, 'ENOSPACE');
      const result = await mcpOpen(s, 'on-full-disk');
      assert.equal(result.isError, true);
      assert.equal((result._meta?.[ERROR_META_KEY] as { code: string }).code, 'ENOSPACE');
    });
  });

  it('opens changes again once space is freed', async () => {
    const res = await s.authed('/v1/tools/change.open/invoke', openRequest('after-the-faults'));
    assert.equal(res.status, 200, await res.text());
  });
});
