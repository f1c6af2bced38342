/**
 * WORKERS=2: one instance as a node:cluster of two workers behind one port, the primary a real child process of
 * src/main.ts. On the embedded defaults (nothing configured but REDIS_URL) the primary prints one token and both
 * workers serve it, on one certificate and one demo repository; a worker killed is restarted; SIGTERM drains both
 * and the primary exits 0 after them. At start: no REDIS_URL is refused naming both variables, a port taken fails
 * the start, and on a drain a worker that does not finish within the grace plus its margin is killed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { DRAIN_MARGIN_MS, restartDelay } from '../src/cluster.js';
import { collectOutput } from './helpers/child-output.js';
import { createTempRepo } from './helpers/repo.js';
import { startScaleOut, type ScaleOut } from './helpers/scale-out.js';
import type { Line } from './helpers/server-process.js';
import { TOKENS } from './helpers/server.js';
import { within } from './helpers/within.js';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;

interface Served {
  status: number;
  body: string;
  /** The worker whose request line names this request. */
  pid: number;
}

/**
 * Requests and streams to one WORKERS instance, each on a connection of its own: the primary deals connections,
 * not requests, to its workers.
 */
function client(scale: ScaleOut) {
  const instance = () => scale.instances[0]!;
  const headers = (init: RequestInit, reqId: string) => ({
    Authorization: `Bearer ${scale.token}`,
    'X-Request-Id': reqId,
    ...(init.headers as Record<string, string>),
  });
  const lineOf = (reqId: string, what: (line: Line) => boolean): Promise<Line> =>
    instance().proc.line((line) => line.reqId === reqId && what(line), `the line of ${reqId}`);

  /** The response, read, and the worker that served it. */
  async function served(urlPath: string, init: RequestInit = {}): Promise<Served> {
    const dispatcher = new Agent({ connect: { ca: scale.ca } });
    const reqId = `workers-${randomUUID()}`;
    try {
      const res = await undiciFetch(instance().url + urlPath, {
        ...(init as object),
        headers: headers(init, reqId),
        dispatcher,
      });
      const body = await res.text();
      const line = await lineOf(reqId, (l) => l.res !== undefined);
      return { status: res.status, body, pid: line.pid as number };
    } finally {
      await dispatcher.close();
    }
  }

  /** An open `/v1/events` stream: the worker holding it, and its whole text and how it ended, once it ends. */
  async function stream(): Promise<{ pid: number; text: Promise<{ read: string; ending: string }> }> {
    const dispatcher = new Agent({ connect: { ca: scale.ca } });
    const reqId = `workers-stream-${randomUUID()}`;
    const res = await undiciFetch(`${instance().url}/v1/events`, { headers: headers({}, reqId), dispatcher });
    assert.equal(res.status, 200);
    const line = await lineOf(reqId, (l) => l.msg === 'event stream opened');
    // What the stream brought, and how it ended: `end`, or the error of a body cut short (undici's `terminated`).
    const text = (async () => {
      let read = '';
      let ending = 'end';
      try {
        const decoder = new TextDecoder();
        for await (const chunk of res.body!) read += decoder.decode(chunk, { stream: true });
      } catch (err) {
        ending = (err as Error).message;
      }
      await dispatcher.close();
      return { read, ending };
    })();
    return { pid: line.pid as number, text };
  }

  /** Calls `call` until each of `pids` has served one (round-robin: two or three calls); every result. */
  async function untilEachServed<T extends { pid: number }>(pids: number[], call: () => Promise<T>): Promise<T[]> {
    const results: T[] = [];
    const covered = (): boolean => pids.every((pid) => results.some((r) => r.pid === pid));
    for (let i = 0; i < 20 && !covered(); i++) results.push(await call());
    assert.ok(covered(), `served by ${results.map((r) => r.pid)}, not each of ${pids}`);
    return results;
  }

  return { instance, served, stream, untilEachServed };
}

describe('WORKERS=2 on the embedded defaults (and REDIS_URL)', () => {
  let scale: ScaleOut;
  let workers: ReturnType<typeof client>;
  before(async () => {
    scale = await startScaleOut({ instances: 1, workers: 2, proxy: false, embedded: true });
    workers = client(scale);
  });
  after(() => scale?.stop());

  it('prints one token; both workers accept it, on the one certificate, over the one demo repository', async () => {
    const { proc } = workers.instance();
    const stderr = proc.stderr();
    assert.equal(stderr.split(scale.token).length, 2, `the token is printed exactly once:\n${stderr}`);
    assert.deepEqual(stderr.match(/listening on .*/g), [`listening on ${proc.url} (2 workers)`]);
    const pids = workers.instance().pids();
    assert.equal(pids.length, 2);
    // `scale.ca` is the certificate the primary generated: each connection verifies against it alone.
    const opens = await workers.untilEachServed(pids, () =>
      workers.served('/v1/tools/change.open/invoke', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ title: 'Both workers', slug: 'both-workers' }),
      }),
    );
    assert.deepEqual(
      opens.map(({ status, body }) => [status, (JSON.parse(body) as { created: boolean }).created]),
      [[200, true], ...Array(opens.length - 1).fill([200, false])],
      'the first worker creates the change, the other resumes it: one repository',
    );
    await access(path.join(scale.repoRoot, 'openspec/changes/both-workers/proposal.md'));
    assert.ok(!JSON.stringify(proc.lines()).includes(scale.token), 'the token is in no log line');
  });

  it('restarts a worker killed with SIGKILL, and the new one serves', async () => {
    const { proc } = workers.instance();
    const [victim, survivor] = workers.instance().pids() as [number, number];
    const from = proc.lines().length;
    process.kill(victim, 'SIGKILL');
    const died = await proc.line((l) => l.msg === 'worker died; restarting it' && l.worker === victim, 'the death', {
      from,
    });
    assert.deepEqual([died.code, died.signal, died.restartInMs], [null, 'SIGKILL', restartDelay(1)]);
    const started = await proc.line((l) => l.msg === 'worker listening', 'the new worker', { from, ms: 30_000 });
    const fresh = started.worker as number;
    assert.deepEqual(
      workers
        .instance()
        .pids()
        .sort((a, b) => a - b),
      [survivor, fresh].sort((a, b) => a - b),
    );
    await workers.untilEachServed([fresh, survivor], () => workers.served('/healthz'));
  });

  it('drains both workers on SIGTERM (their streams told), and the primary exits 0 after them', async () => {
    const { proc } = workers.instance();
    const pids = workers.instance().pids();
    const streams = await workers.untilEachServed(pids, () => workers.stream());
    const from = proc.lines().length;
    proc.signal('SIGTERM');
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
    for (const { text } of streams) {
      assert.deepEqual(await text, { read: 'retry: 3000\n\n: server shutting down\n\n', ending: 'end' });
    }
    const lines = proc.lines().slice(from);
    for (const pid of pids) {
      assert.ok(
        lines.some((l) => l.pid === pid && l.msg === 'stopped'),
        `worker ${pid} drained`,
      );
      assert.ok(lines.some((l) => l.msg === 'worker stopped' && l.worker === pid && l.code === 0));
    }
    const last = lines.at(-1)!;
    assert.deepEqual([last.msg, last.role, last.code, last.pid], ['stopped', 'primary', 0, proc.pid]);
  });
});

describe('WORKERS=2: a worker that does not finish its drain', () => {
  it('is killed at SHUTDOWN_GRACE_MS plus the margin, and the primary exits 1', async () => {
    const scale = await startScaleOut({ instances: 1, workers: 2, proxy: false, env: { SHUTDOWN_GRACE_MS: '500' } });
    try {
      const { proc } = scale.instances[0]!;
      const [hung, healthy] = scale.instances[0]!.pids() as [number, number];
      process.kill(hung, 'SIGSTOP');
      proc.signal('SIGTERM');
      const exit = await within(500 + DRAIN_MARGIN_MS + 10_000, 'the primary to exit', proc.exited);
      assert.deepEqual(exit, { code: 1, signal: null });
      const lines = proc.lines();
      const killed = lines.find((l) => l.msg === 'workers still running: killed');
      assert.deepEqual(killed?.workers, [hung]);
      assert.ok(lines.some((l) => l.msg === 'worker stopped' && l.worker === healthy && l.code === 0));
      assert.ok(lines.some((l) => l.msg === 'worker stopped' && l.worker === hung && l.signal === 'SIGKILL'));
    } finally {
      await scale.stop();
    }
  });
});

/** Runs src/main.ts with `env` until it exits; its exit code, stderr and stdout. */
async function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = collectOutput(child, child.stderr);
  const stdout = collectOutput(child, child.stdout);
  const [code] = (await within(30_000, 'main to exit', once(child, 'close'))) as [number | null];
  return { code, stderr: stderr.text(), stdout: stdout.text() };
}

describe('WORKERS=2 at start', () => {
  it('is refused without REDIS_URL, naming WORKERS, REDIS_URL and the explicit override', async () => {
    const { code, stderr } = await runMain({ WORKERS: '2', PORT: '0', TLS: 'off' });
    assert.equal(code, 2);
    assert.match(
      stderr,
      /^task-mcp: cannot start: WORKERS=2 needs REDIS_URL: .* or WORKERS_WITHOUT_REDIS=1 to run unshared workers anyway\n$/,
    );
  });

  it('fails as one process would when the port is taken: the primary stops and exits 1 with the reason', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const repo = await createTempRepo();
    const stateDir = await mkdtemp(path.join(tmpdir(), 'task-mcp-workers-'));
    try {
      const { code, stderr, stdout } = await runMain({
        WORKERS: '2',
        WORKERS_WITHOUT_REDIS: '1',
        HOST: '127.0.0.1',
        PORT: String((taken.address() as AddressInfo).port),
        TLS: 'off',
        TASK_MCP_TOKENS: `alice:${TOKENS.alice}`,
        REPO_ROOT: repo.root,
        TASK_MCP_STATE_DIR: stateDir,
      });
      assert.equal(code, 1);
      assert.match(stderr, /task-mcp: cannot start: Error: bind EADDRINUSE 127\.0\.0\.1:\d+\n/);
      assert.match(stdout, /"msg":"a worker failed to start; stopping the others"/);
      assert.match(stdout, /"msg":"WORKERS_WITHOUT_REDIS=1: each worker keeps its own change feed/);
    } finally {
      taken.close();
      await repo.remove();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

describe('restartDelay', () => {
  it('doubles from 100 ms with each young death in a row, up to 30 s', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 9, 10, 11, 100].map(restartDelay),
      [100, 200, 400, 800, 25_600, 30_000, 30_000, 30_000],
    );
  });
});
