/**
 * What every hostile-input case checks afterwards: the refusal is a typed problem (never a 5xx, never a stack
 * trace or a server path), the server is still healthy, and the repository holds only what legitimate calls made.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, type TestServer } from './server.js';

/** Limits out of the way: these suites send thousands of requests from one address on purpose. */
export const startHostileServer = (env: Record<string, string> = {}): Promise<TestServer> =>
  startServer({ env: { RATE_LIMIT_BURST: '1000000/1s', RATE_LIMIT_SUSTAINED: '1000000/1h', ...env } });

/** Nothing a client should ever see from a refusal: stack frames, absolute paths, Node internals. */
const LEAK = /\n\s+at |\/(?:tmp|home|root|work|usr)\/|node_modules|node:internal/;

/** Asserts `res` is a problem+json refusal in the 4xx range (or exactly `status`); returns its code. */
export async function assertRefusal(res: Response, status?: number): Promise<string> {
  const text = await res.text();
  if (status === undefined) assert.ok(res.status >= 400 && res.status < 500, `${res.status}: ${text.slice(0, 300)}`);
  else assert.equal(res.status, status, text.slice(0, 300));
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.doesNotMatch(text, LEAK);
  const body = JSON.parse(text) as { code?: unknown; requestId?: unknown };
  assert.equal(typeof body.code, 'string');
  assert.equal(body.requestId, res.headers.get('x-request-id'));
  return body.code as string;
}

/** On `/mcp` a refusal may also be the SDK's JSON-RPC error (MCP clients expect one). */
export async function assertMcpRefusal(res: Response): Promise<void> {
  if (/^application\/problem\+json/.test(res.headers.get('content-type') ?? '')) return void (await assertRefusal(res));
  const text = await assertNo5xx(res);
  assert.ok(res.status >= 400, `${res.status}: ${text.slice(0, 300)}`);
  assert.equal(typeof (JSON.parse(text) as { error?: { code?: unknown } }).error?.code, 'number', text);
}

/** Asserts no 5xx and no leak, whatever the status; returns the body text. */
export async function assertNo5xx(res: Response): Promise<string> {
  const text = await res.text();
  assert.ok(res.status < 500, `${res.status}: ${text.slice(0, 300)}`);
  assert.doesNotMatch(text, LEAK);
  return text;
}

/** `git status --porcelain` paths of the served repository. */
export const repoChanges = (s: TestServer): string[] =>
  execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: s.repo.root, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(3));

/** The server answers its liveness probe and every change in the repo belongs to a slug a legitimate call opened. */
export async function assertIntact(s: TestServer, legit: ReadonlySet<string>) {
  assert.equal((await s.fetch(`${s.url}/healthz`)).status, 200);
  for (const file of repoChanges(s)) {
    const slug = /^openspec\/changes\/([^/]+)\//.exec(file)?.[1];
    const openspecScaffold =
      /^openspec\/(?:config\.yaml|\.gitignore|project\.md|AGENTS\.md|specs\/|changes\/archive\/)/.test(file);
    assert.ok(openspecScaffold || (slug !== undefined && legit.has(slug)), `unexpected change in the repo: ${file}`);
  }
}
