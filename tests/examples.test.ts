/**
 * The SDK examples (examples/invoke-sse.ts, invoke-ndjson.ts, events-feed.ts) run as a user runs them, as child
 * processes against the real server (real TLS, trusted through NODE_EXTRA_CA_CERTS), and the NDJSON helper they
 * use (client/ndjson.ts) in process. Also records time-to-first-event of a streamed call. The helper's line
 * reader on its own: tests/client-ndjson.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { createClient, type Client } from '../generated/client/index.js';
import type { Auth } from '../generated/core/auth.gen.js';
import type { InvokeToolErrors } from '../generated/types.gen.js';
import { InvokeRefusedError, invokeToolNdjson } from '../client/ndjson.js';
import type { InvokeEvent } from '../generated/types.gen.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';
import { testCertificate } from './helpers/tls.js';

const ROOT = new URL('..', import.meta.url);
/** Longest an example may run before the test kills it and fails. */
const EXAMPLE_DEADLINE_MS = 20_000;

interface Run {
  child: ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches `pattern`, or the example exits. */
  waitFor(pattern: RegExp): Promise<void>;
  /** The exit code, once it exits. */
  exited: Promise<number | null>;
}

/** Children still running: killed in `after` if a test failed before they exited. */
const children = new Set<ChildProcess>();

/** Starts `npx tsx examples/<name>`-equivalent: this Node with the tsx loader, the user's environment variables. */
function runExample(
  s: TestServer,
  certPath: string,
  name: string,
  args: string[] = [],
  token: string = TOKENS.alice,
): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${name}`, ...args], {
    cwd: ROOT,
    env: { ...process.env, TASK_MCP_URL: s.url, TASK_MCP_TOKEN: token, NODE_EXTRA_CA_CERTS: certPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const w of waiters.filter((w) => w.pattern.test(out))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), EXAMPLE_DEADLINE_MS);
  const exited = once(child, 'exit').then(([code]) => {
    clearTimeout(killer);
    children.delete(child);
    for (const w of waiters.splice(0)) w.resolve();
    return code as number | null;
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (pattern) =>
      pattern.test(out) ? Promise.resolve() : new Promise((resolve) => waiters.push({ pattern, resolve })),
    exited,
  };
}

/** The printed lines `<type> <json>`, parsed; other lines (`: heartbeat`) as `{ comment }`. */
function printed(stdout: string): Array<{ type: string; json?: Record<string, unknown>; comment?: string }> {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      if (line.startsWith(':')) return { type: ':', comment: line.slice(1).trim() };
      const space = line.indexOf(' ');
      return { type: line.slice(0, space), json: JSON.parse(line.slice(space + 1)) as Record<string, unknown> };
    });
}

/** The generated client in this process, trusting the test certificate (the SDK hands `fetch` a `Request`). */
function sdkClient(s: TestServer, token: string = TOKENS.alice): Client {
  const trusting = async (request: Request): Promise<Response> =>
    s.fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body ? await request.arrayBuffer() : null,
      signal: request.signal,
    });
  return createClient({
    baseUrl: s.url,
    fetch: trusting as typeof fetch,
    auth: (scheme: Auth) => (scheme.scheme === 'bearer' ? token : undefined),
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

describe('SDK examples against the real server', () => {
  let s: TestServer;
  let certPath: string;
  before(async () => {
    certPath = (await testCertificate()).certPath;
    s = await startServer({ env: { HEARTBEAT_MS: '200' } });
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await s.stop();
  });

  test('examples/invoke-sse.ts opens a change over SSE: start, progress…, then a result with created: true', async () => {
    const run = runExample(s, certPath, 'invoke-sse.ts', ['sse-example', 'Open through the SSE example']);
    assert.equal(await run.exited, 0, run.stderr());
    const events = printed(run.stdout()).filter((e) => e.type !== ':');
    assert.equal(events[0]?.type, 'start');
    assert.equal(events[0]?.json?.tool, 'change.open');
    assert.ok(events.some((e) => e.type === 'progress'));
    const last = events.at(-1);
    assert.equal(last?.type, 'result');
    const result = last?.json?.result as Record<string, unknown>;
    assert.deepEqual({ slug: result.slug, created: result.created }, { slug: 'sse-example', created: true });
  });

  test('examples/invoke-ndjson.ts opens a change over NDJSON: start, progress…, a result with created: true, end', async () => {
    const run = runExample(s, certPath, 'invoke-ndjson.ts', ['ndjson-example']);
    assert.equal(await run.exited, 0, run.stderr());
    const lines = printed(run.stdout()).filter((e) => e.type !== 'heartbeat');
    assert.deepEqual(
      lines.map((l) => l.type).filter((type, i, all) => type !== all[i - 1]),
      ['start', 'progress', 'result', 'end'],
    );
    const result = lines.find((l) => l.type === 'result')?.json?.result as Record<string, unknown>;
    assert.equal(result.slug, 'ndjson-example');
    assert.equal(result.created, true);
  });

  test('examples/invoke-ndjson.ts run again resumes the change (created: false)', async () => {
    await runExample(s, certPath, 'invoke-ndjson.ts', ['ndjson-again']).exited;
    const run = runExample(s, certPath, 'invoke-ndjson.ts', ['ndjson-again']);
    assert.equal(await run.exited, 0, run.stderr());
    const result = printed(run.stdout()).find((l) => l.type === 'result')?.json?.result as Record<string, unknown>;
    assert.equal(result.created, false);
  });

  test('examples/events-feed.ts prints heartbeats and the change.opened event of a change opened while it listens', async () => {
    const run = runExample(s, certPath, 'events-feed.ts', ['1']);
    await run.waitFor(/^: heartbeat$/m);
    assert.match(run.stdout(), /^: connected \(retry 3000 ms\)$/m);
    const res = await s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ slug: 'feed-example', title: 'Seen by the feed example' }),
    });
    assert.equal(res.status, 200, await res.text());
    assert.equal(await run.exited, 0, run.stderr());
    const events = printed(run.stdout()).filter((e) => e.type !== ':');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, 'change.opened');
    assert.deepEqual(
      { slug: events[0]?.json?.slug, actor: events[0]?.json?.actor, type: events[0]?.json?.type },
      { slug: 'feed-example', actor: 'alice', type: 'change.opened' },
    );
  });

  test('examples/events-feed.ts stops on SIGTERM and exits 0', async () => {
    const run = runExample(s, certPath, 'events-feed.ts');
    await run.waitFor(/^: connected/m);
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.stderr());
  });

  test('each example exits 1 and says why when the token is refused', async () => {
    for (const name of ['invoke-sse.ts', 'invoke-ndjson.ts', 'events-feed.ts']) {
      const run = runExample(s, certPath, name, [], 'not-a-valid-token-000000');
      assert.equal(await run.exited, 1, `${name}: ${run.stdout()}${run.stderr()}`);
      assert.match(run.stderr(), /401/, name);
    }
  });

  test('invokeToolNdjson throws InvokeRefusedError with the problem for a call refused before streaming', async () => {
    const lines = invokeToolNdjson({
      client: sdkClient(s),
      path: { tool: 'change.open' },
      body: { slug: 'Not A Slug', title: 'x' },
    });
    // Refused before streaming: the first step of the iteration throws.
    const refused = await lines.next().then(
      () => assert.fail('expected a refusal'),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof InvokeRefusedError);
    assert.equal(refused.status, 400);
    assert.equal(refused.problem?.code, 'EBADINPUT');
  });

  test('time to first event of a streamed call, SSE and NDJSON (diagnostic, not asserted)', async (t) => {
    const runs = 5;
    const client = sdkClient(s);
    const ttfe: Record<'sse' | 'ndjson', number[]> = { sse: [], ndjson: [] };
    for (let i = 0; i < runs; i++) {
      const body = { slug: `ttfe-sse-${i}`, title: 'Time to first event' };
      let first: number | undefined;
      const sent = performance.now();
      const { stream } = await client.sse.post<{ 200: { type: string } }, InvokeToolErrors>({
        url: '/v1/tools/{tool}/invoke',
        path: { tool: 'change.open' },
        body,
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        security: [{ scheme: 'bearer', type: 'http' }],
        sseMaxRetryAttempts: 1,
      });
      const types: string[] = [];
      for await (const event of stream) {
        first ??= performance.now() - sent;
        types.push(event.type);
      }
      assert.equal(types[0], 'start');
      assert.equal(types.at(-1), 'result');
      ttfe.sse.push(first!);
    }
    for (let i = 0; i < runs; i++) {
      const body = { slug: `ttfe-ndjson-${i}`, title: 'Time to first event' };
      let first: number | undefined;
      const sent = performance.now();
      const lines: InvokeEvent[] = [];
      for await (const line of invokeToolNdjson({ client, path: { tool: 'change.open' }, body })) {
        first ??= performance.now() - sent;
        lines.push(line);
      }
      assert.equal(lines[0]?.type, 'start');
      assert.equal(lines.at(-1)?.type, 'end');
      ttfe.ndjson.push(first!);
    }
    for (const [kind, samples] of Object.entries(ttfe)) {
      t.diagnostic(
        `time to first event (${kind}, change.open, ${runs} runs): median ${median(samples).toFixed(1)} ms; ` +
          `samples ${samples.map((ms) => ms.toFixed(1)).join(', ')} ms`,
      );
    }
  });
});
