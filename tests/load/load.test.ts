/**
 * Load (`npm run test:load`; LOAD_SECONDS per round, default 5): three rounds at saturation on 127.0.0.1 over
 * real TLS against the server in its own process: `tools/list` and `change_open` over `/mcp`, `change.open`
 * invoked over NDJSON and SSE, and `/v1/events` subscribers held open throughout. Asserts no errors and no
 * status but 200 (the rate limits and stream caps are set out of reach, so a 429 is a defect), every change a
 * call reported is in the repo whole and nothing else is, and the server's handles and memory (after GC) return
 * to their baseline.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, it } from 'node:test';
import autocannon from 'autocannon';
import type { MemorySample } from '../helpers/memory-probe.js';
import { createTempRepo, type TempRepo } from '../helpers/repo.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { TOKENS } from '../helpers/server.js';
import { testCertificate, type TestCertificate } from '../helpers/tls.js';

const SECONDS = Number(process.env.LOAD_SECONDS ?? 5);
const SUBSCRIBERS = 20;
const MODERN = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
const AUTH = { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' };
const MCP = { ...AUTH, accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN };

/** The server's memory after GC, and the requests it saw fail. */
type Sample = MemorySample & { errors: number };

let repo: TempRepo;
let cert: TestCertificate;
let server: ServerProcess;
let url: string;

before(async () => {
  repo = await createTempRepo();
  cert = await testCertificate();
  server = await startServerProcess(new URL('server.ts', import.meta.url).pathname, {
    env: {
      HOST: '127.0.0.1',
      PORT: '0',
      TLS_CERT: cert.certPath,
      TLS_KEY: cert.keyPath,
      REPO_ROOT: repo.root,
      TASK_MCP_TOKENS: `alice:${TOKENS.alice}`,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_BURST: '1000000/1s',
      RATE_LIMIT_SUSTAINED: '100000000/1h',
      MAX_STREAMS_PER_CLIENT: '1000',
      MAX_CALLS_PER_CLIENT: '1000',
    },
  });
  url = server.url;
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

/** A sample once closed connections are gone (see ServerProcess.settled). */
const settled = async (): Promise<Sample> => (await server.settled()) as Sample;

/** Slugs a round asked for, and those a reply reported opened. */
const asked = new Set<string>();
const opened = new Set<string>();

function opens(kind: string, round: number, body: (slug: string) => object, succeeded: (text: string) => boolean) {
  let n = 0;
  return {
    setupRequest: (request: autocannon.Request) => {
      const slug = `load-${round}-${kind}-${n++}`;
      asked.add(slug);
      return { ...request, body: JSON.stringify(body(slug)) };
    },
    onResponse: (status: number, text: string) => {
      const slug = /"slug":"(load-[a-z0-9-]+)"/.exec(text)?.[1];
      if (status === 200 && slug && succeeded(text)) opened.add(slug);
    },
  };
}

/** One round: every driver at once for SECONDS, with subscribers on the event feed throughout. */
async function round(n: number): Promise<autocannon.Result[]> {
  const run = (opts: Partial<autocannon.Options>) =>
    autocannon({ url, duration: SECONDS, method: 'POST', connections: 4, ...opts } as autocannon.Options);
  const feeds = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => subscribe()));
  const list = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } });
  const call = (slug: string) => ({
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/call',
    params: { name: 'change_open', arguments: { slug, title: `Load ${slug}` }, _meta: META },
  });
  const invoke = (slug: string) => ({ slug, title: `Load ${slug}` });
  const results = await Promise.all([
    run({ url: `${url}/mcp`, connections: 8, headers: { ...MCP, 'mcp-method': 'tools/list' }, body: list }),
    run({
      url: `${url}/mcp`,
      headers: { ...MCP, 'mcp-method': 'tools/call', 'mcp-name': 'change_open' },
      requests: [opens('mcp', n, call, (text) => !text.includes('"isError":true'))],
    }),
    run({
      url: `${url}/v1/tools/change.open/invoke`,
      headers: { ...AUTH, accept: 'application/x-ndjson' },
      requests: [opens('ndjson', n, invoke, (text) => text.includes('"type":"result"'))],
    }),
    run({
      url: `${url}/v1/tools/change.open/invoke`,
      headers: { ...AUTH, accept: 'text/event-stream' },
      requests: [opens('sse', n, invoke, (text) => text.includes('event: result'))],
    }),
  ]);
  const events = await Promise.all(feeds.map((close) => close()));
  assert.ok(
    events.every((count) => count > 0),
    'every subscriber received events',
  );
  return results;
}

/** Opens `/v1/events` and counts the events read until closed. */
async function subscribe(): Promise<() => Promise<number>> {
  const abort = new AbortController();
  const res = await cert.fetch(`${url}/v1/events`, { headers: AUTH, signal: abort.signal });
  assert.equal(res.status, 200);
  let events = 0;
  const reading = (async () => {
    const decoder = new TextDecoder();
    const reader = res.body!.getReader();
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        events += (decoder.decode(chunk.value).match(/^event: /gm) ?? []).length;
      }
    } catch {
      // Aborted at the end of the round.
    }
  })();
  return async () => {
    abort.abort();
    await reading;
    return events;
  };
}

function summarize(results: autocannon.Result[]) {
  const statuses: Record<string, number> = {};
  for (const r of results) {
    for (const [code, { count }] of Object.entries(r.statusCodeStats ?? {}))
      statuses[code] = (statuses[code] ?? 0) + count;
  }
  return {
    reqPerSec: Math.round(results.reduce((sum, r) => sum + r.requests.average, 0)),
    p99ms: Math.max(...results.map((r) => r.latency.p99)),
    errors: results.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
    statuses,
  };
}

it(
  `holds up under three ${SECONDS}s rounds of mixed load without errors, lost changes or leaks`,
  { timeout: 300_000 },
  async () => {
    // Warm up (lazy loads, JIT, first `openspec` run), then take the baseline.
    await round(0);
    const baseline = await settled();
    const rounds = [];
    for (let n = 1; n <= 3; n++) {
      const summary = summarize(await round(n));
      const after = await settled();
      rounds.push({
        round: n,
        ...summary,
        rssMB: +(after.rss / 2 ** 20).toFixed(1),
        heapMB: +(after.heapUsed / 2 ** 20).toFixed(1),
        handles: after.handles,
      });
      assert.equal(summary.errors, 0, 'socket errors or timeouts');
      assert.deepEqual(Object.keys(summary.statuses), ['200'], `statuses ${JSON.stringify(summary.statuses)}`);
      assert.equal(after.errors, 0, 'error lines in the server log');
      assert.equal(after.handles, baseline.handles, 'open handles back to the baseline');
    }
    console.log(
      JSON.stringify(
        {
          seconds: SECONDS,
          baselineRssMB: +(baseline.rss / 2 ** 20).toFixed(1),
          baselineHeapMB: +(baseline.heapUsed / 2 ** 20).toFixed(1),
          rounds,
        },
        null,
        1,
      ),
    );
    // Memory settles after the first round; it must not keep growing round after round.
    const [first, , last] = rounds;
    assert.ok(last!.heapMB <= first!.heapMB * 1.25 + 8, `heap grew from ${first!.heapMB} to ${last!.heapMB} MiB`);
    assert.ok(last!.rssMB <= first!.rssMB * 1.25 + 16, `RSS grew from ${first!.rssMB} to ${last!.rssMB} MiB`);

    // Every change a reply reported is in the repo, whole; nothing is there that was not asked for; no leftovers.
    const changes = path.join(repo.root, 'openspec/changes');
    const folders = (await readdir(changes)).filter((name) => name !== 'archive');
    assert.deepEqual(
      folders.filter((name) => name.startsWith('.')),
      [],
      'staging leftovers',
    );
    for (const slug of opened) assert.ok(folders.includes(slug), `${slug} was reported opened but is missing`);
    for (const slug of folders) {
      assert.ok(asked.has(slug), `${slug} was never asked for`);
      for (const file of ['proposal.md', 'tasks.md'])
        assert.ok((await readFile(path.join(changes, slug, file))).length > 0);
    }
    assert.ok(opened.size > 0);
  },
);
