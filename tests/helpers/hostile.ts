/**
 * What every hostile-input case checks: the refusal is exactly the expected one (its status and problem `code`, or
 * JSON-RPC error code), never a stack trace or a server path; afterwards the server is still healthy and the
 * repository holds only what legitimate calls made.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { ErrorCode, Problem } from '../../generated/types.gen.js';
import { fixture } from './fixture.js';
import { startServer, type TestServer } from './server.js';

/** Limits out of the way: these suites send thousands of requests from one address on purpose. */
export const startHostileServer = (env: Record<string, string> = {}): Promise<TestServer> =>
  startServer({ env: { RATE_LIMIT_BURST: '1000000/1s', RATE_LIMIT_SUSTAINED: '1000000/1h', ...env } });

/** A hostile server for the tests of the enclosing suite (see `fixture`). */
export const useHostileServer = (env: Record<string, string> = {}): TestServer =>
  fixture(
    () => startHostileServer(env),
    (s) => s.stop(),
  );

/** Nothing a client should ever see from a refusal: stack frames, absolute paths, Node internals. */
const LEAK = /\n\s+at |\/(?:tmp|home|root|work|usr)\/|node_modules|node:internal/;

/**
 * Asserts `res` is exactly the problem+json refusal `status` with `code` (the status in the body too), with no
 * leak and the request id of its `X-Request-Id` header; returns the problem.
 */
export async function assertRefusal(res: Response, status: number, code: ErrorCode): Promise<Problem> {
  const text = await res.text();
  assert.equal(res.status, status, text.slice(0, 300));
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.doesNotMatch(text, LEAK);
  const problem = JSON.parse(text) as Problem;
  assert.equal(problem.code, code, text.slice(0, 300));
  assert.equal(problem.status, status);
  assert.equal(problem.requestId, res.headers.get('x-request-id'));
  return problem;
}

/**
 * Asserts `res` is exactly a JSON-RPC error response with HTTP `status`, error `rpcCode` and a null id (what the
 * MCP SDK answers to a body that is JSON but no JSON-RPC message), with no leak.
 */
export async function assertJsonRpcError(res: Response, status: number, rpcCode: number): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, text.slice(0, 300));
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.doesNotMatch(text, LEAK);
  const reply = JSON.parse(text) as { jsonrpc?: unknown; id?: unknown; error?: { code?: unknown } };
  assert.deepEqual([reply.jsonrpc, reply.id, reply.error?.code], ['2.0', null, rpcCode], text.slice(0, 300));
}

/**
 * Asserts the body of `res` leaks nothing (no stack frame, server path or Node internal) and returns its text, for
 * the exact assertions on status and content that must follow.
 */
export async function assertNoLeak(res: Response): Promise<string> {
  const text = await res.text();
  assert.doesNotMatch(text, LEAK, `${res.status}: ${text.slice(0, 300)}`);
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
