/**
 * Draining. The real process (`src/main.ts`) under real signals: SIGTERM waits for every tool call in flight,
 * whether or not its client still listens, up to SHUTDOWN_GRACE_MS; a second SIGTERM does not skip the grace; the
 * calls the grace cuts are named; `stopped` is the last line. In process, with a call held open by the test: probes
 * answer 503 and other requests 503 EUNAVAILABLE for the whole drain, and open event streams end at once.
 */
import assert from 'node:assert/strict';
import { access, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readChecked } from './helpers/contract.js';
import { heldOpens } from './helpers/held-call.js';
import { addedDelta, checkAllTasks, createTempRepo, serve, writeDelta, type TempRepo } from './helpers/repo.js';
import { startServer, TOKENS } from './helpers/server.js';
import { startServerProcess, type Line, type ServerProcess } from './helpers/server-process.js';
import { testCertificate } from './helpers/tls.js';
import { within } from './helpers/within.js';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const SLUG = 'drain-me';

interface Running {
  proc: ServerProcess;
  repo: TempRepo;
  /** `fetch` to the child, as alice. */
  call(urlPath: string, init?: RequestInit): Promise<Response>;
}

const running: Running[] = [];
after(async () => {
  for (const { proc, repo } of running.splice(0)) {
    await proc.stop();
    // A call the grace cut may leave an OpenSpec child process finishing its writes: retry the removal.
    await rm(repo.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
});

/** A repository with SLUG open, its delta written, every task checked and committed: ready to archive. */
async function repoReadyToArchive(): Promise<TempRepo> {
  const repo = await createTempRepo();
  await serve(repo).service.open({ slug: SLUG, title: 'Drain me' }, { actor: 'alice' });
  await writeDelta(repo.root, SLUG, 'drain', addedDelta('Drain gracefully'));
  await checkAllTasks(repo.root, SLUG);
  await repo.commit('feat: drain');
  return repo;
}

async function startMain(env: Record<string, string> = {}): Promise<Running> {
  const repo = await repoReadyToArchive();
  const cert = await testCertificate();
  const proc = await startServerProcess(MAIN, {
    env: {
      HOST: '127.0.0.1',
      PORT: '0',
      TLS_CERT: cert.certPath,
      TLS_KEY: cert.keyPath,
      REPO_ROOT: repo.root,
      TASK_MCP_TOKENS: `alice:${TOKENS.alice}`,
      LOG_LEVEL: 'info',
      ...env,
    },
    stderr: 'capture',
  });
  const started: Running = {
    proc,
    repo,
    call: (urlPath, init = {}) =>
      cert.fetch(proc.url + urlPath, {
        ...init,
        headers: { Authorization: `Bearer ${TOKENS.alice}`, ...(init.headers as Record<string, string>) },
      }),
  };
  running.push(started);
  return started;
}

const archiveRequest = (reqId: string, accept: string): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Accept: accept, 'X-Request-Id': reqId },
  body: JSON.stringify({ slug: SLUG }),
});

/** Starts an NDJSON archive and resolves once its `start` event arrived (the call is running), with the reader. */
async function archiveStarted(server: Running, reqId: string): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const res = await server.call('/v1/tools/change.archive/invoke', archiveRequest(reqId, 'application/x-ndjson'));
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('"type":"start"')) {
    const { value, done } = await within(15_000, 'the start event', reader.read());
    assert.ok(!done, `the stream ended before its start event: ${text}`);
    text += new TextDecoder().decode(value);
  }
  return reader;
}

const byMsg = (msg: string) => (line: Line) => line.msg === msg;
const calls = (list: unknown) =>
  (list as Array<Record<string, unknown>>).map(({ tool, reqId, caller }) => ({ tool, reqId, caller }));

/** What a finished archive leaves: the receipt, and neither the archive lock nor the journal. */
async function assertArchivedCleanly(repo: TempRepo): Promise<void> {
  const changes = path.join(repo.root, 'openspec', 'changes');
  const archived = (await readdir(path.join(changes, 'archive'))).filter((name) => name.endsWith(`-${SLUG}`));
  assert.equal(archived.length, 1, 'the change is archived');
  await access(path.join(changes, 'archive', archived[0]!, 'receipt.json'));
  await assert.rejects(access(path.join(changes, '.archive.lock')), { code: 'ENOENT' });
  await assert.rejects(access(path.join(changes, '.archive-journal')), { code: 'ENOENT' });
}

describe('SIGTERM drains the real process', { timeout: 240_000 }, () => {
  it('waits for an NDJSON archive whose client has gone: receipt written, no lock or journal, `stopped` last', async () => {
    const server = await startMain({ SHUTDOWN_GRACE_MS: '60000' });
    const reader = await archiveStarted(server, 'drain-ndjson');
    await reader.cancel();
    const from = server.proc.lines().length;
    assert.ok(server.proc.signal('SIGTERM'));
    const draining = await server.proc.line(byMsg('draining'), 'the draining line', { from });
    assert.deepEqual(calls(draining.inFlight), [{ tool: 'change.archive', reqId: 'drain-ndjson', caller: 'alice' }]);

    assert.deepEqual(await within(60_000, 'the exit', server.proc.exited), { code: 0, signal: null });
    await assertArchivedCleanly(server.repo);
    assert.equal(server.proc.lines().at(-1)?.msg, 'stopped');
  });

  it('waits for a JSON call already answered ETIMEOUT, and a second SIGTERM does not skip the grace', async () => {
    const server = await startMain({ SHUTDOWN_GRACE_MS: '60000', REQUEST_TIMEOUT_MS: '1' });
    const res = await server.call('/v1/tools/change.archive/invoke', archiveRequest('drain-json', 'application/json'));
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { code: string }).code, 'ETIMEOUT');

    const from = server.proc.lines().length;
    assert.ok(server.proc.signal('SIGTERM'));
    const draining = await server.proc.line(byMsg('draining'), 'the draining line', { from });
    assert.deepEqual(calls(draining.inFlight), [{ tool: 'change.archive', reqId: 'drain-json', caller: 'alice' }]);
    assert.ok(server.proc.signal('SIGTERM'), 'still running for the second signal');
    const again = await server.proc.line((line) => line.signal === 'SIGTERM' && line !== draining, 'the second', {
      from,
    });
    assert.match(String(again.msg), /already draining/);

    assert.deepEqual(await within(60_000, 'the exit', server.proc.exited), { code: 0, signal: null });
    await assertArchivedCleanly(server.repo);
    assert.equal(server.proc.lines().at(-1)?.msg, 'stopped');
  });

  it('names the calls the grace period cuts, by tool, request id and caller, and still ends with `stopped`', async () => {
    const server = await startMain({ SHUTDOWN_GRACE_MS: '100' });
    await archiveStarted(server, 'drain-cut');
    assert.ok(server.proc.signal('SIGTERM'));

    assert.deepEqual(await within(30_000, 'the exit', server.proc.exited), { code: 0, signal: null });
    const lines = server.proc.lines();
    const cut = lines.find((line) => Array.isArray(line.cut));
    assert.ok(cut, 'a line names the cut calls');
    assert.deepEqual(calls(cut.cut), [{ tool: 'change.archive', reqId: 'drain-cut', caller: 'alice' }]);
    assert.equal(lines.at(-1)?.msg, 'stopped');
  });
});

const openRequest = (reqId: string): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Request-Id': reqId },
  body: JSON.stringify({ title: 'In flight', slug: 'in-flight' }),
});

const toolCall = (id: number, slug: string) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'change_open', arguments: { slug, title: 'Tracked' } },
  });

describe('a drain in process', { timeout: 120_000 }, () => {
  it('tracks the calls of every transport until they settle, by tool, request id and caller', async () => {
    const held = heldOpens();
    const s = await startServer({ decorateService: held.decorateService });
    const cut = new AbortController();
    try {
      const sse = await s.authed('/sse', { signal: cut.signal, headers: { 'X-Request-Id': 'track-sse' } });
      const reader = sse.body!.getReader();
      let text = '';
      while (!text.includes('event: endpoint')) text += new TextDecoder().decode((await reader.read()).value);
      const endpoint = /data: (messages\?sessionId=\S+)\n/.exec(text)![1]!;
      const json = { 'Content-Type': 'application/json' };
      const pending = [
        s.authed('/v1/tools/change.open/invoke', openRequest('track-json')),
        s.authed('/v1/tools/change.open/invoke', {
          method: 'POST',
          headers: { ...json, Accept: 'application/x-ndjson', 'X-Request-Id': 'track-ndjson' },
          body: JSON.stringify({ title: 'Tracked', slug: 'track-ndjson' }),
        }),
        s.authed('/mcp', {
          method: 'POST',
          headers: { ...json, Accept: 'application/json, text/event-stream', 'X-Request-Id': 'track-mcp' },
          body: toolCall(1, 'track-mcp'),
        }),
        s.authed(`/${endpoint}`, { method: 'POST', headers: json, body: toolCall(2, 'track-legacy') }),
      ];
      await within(10_000, 'four calls to begin', held.begun(4));
      const byReqId = (a: { reqId: unknown }, b: { reqId: unknown }) => String(a.reqId).localeCompare(String(b.reqId));
      assert.deepEqual(
        calls(s.server.lifecycle.inFlight()).sort(byReqId),
        ['track-json', 'track-mcp', 'track-ndjson', 'track-sse'].map((reqId) => ({
          tool: 'change.open',
          reqId,
          caller: 'alice',
        })),
      );
      held.release();
      await within(30_000, 'the calls to settle', s.server.lifecycle.idle());
      assert.deepEqual(s.server.lifecycle.inFlight(), []);
      await Promise.all(pending.map(async (res) => (await res).arrayBuffer()));
    } finally {
      held.release();
      cut.abort();
      await s.stop();
    }
  });

  it('answers probes 503 and everything else 503 EUNAVAILABLE until the call in flight has finished', async () => {
    const held = heldOpens();
    const s = await startServer({ decorateService: held.decorateService });
    try {
      const events = await s.authed('/v1/events', { headers: { Accept: 'text/event-stream' } });
      assert.equal(events.status, 200);
      const call = s.authed('/v1/tools/change.open/invoke', openRequest('held-open'));
      await within(10_000, 'the call to start', held.began);
      assert.deepEqual(calls(s.server.lifecycle.inFlight()), [
        { tool: 'change.open', reqId: 'held-open', caller: 'alice' },
      ]);

      const stopped = s.server.stop(60_000);
      assert.match(await within(10_000, 'the events stream to end', events.text()), /server shutting down/);
      const ready = await s.fetch(`${s.url}/readyz`);
      const readiness = (await ready.json()) as { code: string; details: { checks: Record<string, string> } };
      assert.equal(ready.status, 503);
      assert.equal(readiness.code, 'EUNAVAILABLE');
      assert.equal(readiness.details.checks.draining, 'fail');
      assert.equal(ready.headers.get('connection'), 'close');
      assert.equal((await s.fetch(`${s.url}/healthz`)).status, 200);
      // EventSource gives up on a 503, not on a stream that ends: a feed opened now gets the final word at once.
      const late = await s.authed('/v1/events', { headers: { Accept: 'text/event-stream' } });
      assert.equal(late.status, 200);
      assert.match(await within(10_000, 'the late feed to end', late.text()), /retry: 3000\n\n: server shutting down/);
      for (const [op, refused] of [
        ['getContract', await s.fetch(`${s.url}/openapi.yaml`)],
        ['invokeTool', await s.authed('/v1/tools/change.open/invoke', openRequest('too-late'))],
      ] as const) {
        const { body, issues } = await readChecked(op, refused);
        assert.equal(refused.status, 503);
        assert.deepEqual(issues, []);
        assert.equal((body as { code: string }).code, 'EUNAVAILABLE');
        assert.equal(refused.headers.get('retry-after'), '2');
      }

      held.release();
      const res = await within(30_000, 'the held call', call);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { created: boolean }).created, true);
      await within(30_000, 'the stop', stopped);
      await assert.rejects(s.fetch(`${s.url}/healthz`), 'the listener is closed once the drain is over');
    } finally {
      held.release();
      await s.stop();
    }
  });

  it('logs the calls its grace period cut, then closes', async () => {
    const held = heldOpens();
    const s = await startServer({ decorateService: held.decorateService });
    try {
      const call = s.authed('/v1/tools/change.open/invoke', openRequest('cut-open')).catch((err: unknown) => err);
      await within(10_000, 'the call to start', held.began);
      await within(10_000, 'the stop', s.server.stop(50));
      const cut = s.logs().find((line) => Array.isArray(line.cut));
      assert.ok(cut, 'a line names the cut calls');
      assert.equal(cut.level, 40);
      assert.deepEqual(calls(cut.cut), [{ tool: 'change.open', reqId: 'cut-open', caller: 'alice' }]);
      assert.ok((await call) instanceof Error, 'the cut call got no answer');
    } finally {
      held.release();
      await within(30_000, 'the released call', s.server.lifecycle.idle());
      await s.stop();
    }
  });
});
