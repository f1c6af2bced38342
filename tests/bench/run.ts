/**
 * `npm run bench`: task-mcp side by side with a baseline in the same run, printed as a table and written into
 * docs/benchmarks.md. Every server runs in its own child process; autocannon and the stream clients run here.
 * BENCH_SECONDS sets the seconds per round of a throughput row (default 3; two rounds each). BENCH_QUICK=1 runs
 * every row briefly (one short round, few streams and runs) and prints without writing the page: CI runs it to
 * show the bench still works, never to judge speed. BENCH_ONLY=healthz,mcp,... runs some groups of rows (see
 * GROUPS), to iterate on one. Whatever happens, everything started is stopped and the run ends within DEADLINE_MS.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createChangeService } from '../../src/changes/index.js';
import { createTempRepo, type TempRepo } from '../helpers/repo.js';
import { TOKENS } from '../helpers/server.js';
import { testCertificate } from '../helpers/tls.js';
import { startServerProcess, type ServerProcess, type ServerProcessOptions } from '../helpers/server-process.js';
import { checkoutAt, EARLIER } from './earlier-builds.js';
import { loadNow, machine, table, writeSection, type Row } from './report.js';
import { BEFORE, loadBefore, type Before } from './before.js';
import { domainRows } from './domain.js';
import { idleStreams } from './idle-streams.js';
import { createScope, type Scope } from './scope.js';
import { startupMs } from './startup.js';
import { scaleRows } from './scale.js';
import { memoryPerStream } from './streams.js';
import { CONNECTIONS, inProcess, overHttp, sideBySide, type Target, type Throughput } from './throughput.js';

const QUICK = process.env.BENCH_QUICK === '1';
const SECONDS = QUICK ? 1 : Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = QUICK ? 1 : 2;
const STREAMS = QUICK ? 50 : 200;
/** The idle-streams row: how many, their heartbeat, and how long their heartbeats are watched. */
const IDLE = { count: QUICK ? 200 : 10_000, heartbeatMs: 1000, windowMs: QUICK ? 2500 : 5500 };
const STARTUP_RUNS = QUICK ? 1 : 5;
const DOMAIN_RUNS = QUICK ? 1 : 7;
/** Opens timed one at a time for the fan-out rows. */
const FANOUT_SAMPLES = QUICK ? 20 : 200;
const DEADLINE_MS = QUICK ? 240_000 : 600_000;
const COMMAND = 'npm run bench';
/** The groups of rows, in the order they run; BENCH_ONLY names some of them. */
const GROUPS = ['healthz', 'mcp', 'tracing', 'open', 'resume', 'memory', 'idle', 'startup', 'scale', 'domain'] as const;
type Group = (typeof GROUPS)[number];
const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const unknownGroup = only?.find((group) => !(GROUPS as readonly string[]).includes(group));
if (unknownGroup) throw new Error(`BENCH_ONLY: no group ${unknownGroup}; the groups are ${GROUPS.join(', ')}`);
const want = (group: Group): boolean => !only || only.includes(group);

const root = (relative: string): string => fileURLToPath(new URL(`../../${relative}`, import.meta.url));
const TASK_MCP = root('tests/load/server.ts');
const BARE = root('tests/bench/servers/bare.ts');
const KOA_FLOOR = root('tests/bench/servers/koa-floor.ts');
const MCP_SDK = root('tests/bench/servers/mcp-sdk.ts');
const DOC = root('docs/benchmarks.md');

const PROTOCOL = '2026-07-28';
const AUTH = { authorization: `Bearer ${TOKENS.alice}` };
const MCP_HEADERS = { ...AUTH, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
/** A request to drive against some server. */
type Call = Omit<Target, 'url'>;
const LIST_2026 = {
  method: 'POST',
  headers: { ...MCP_HEADERS, 'mcp-protocol-version': PROTOCOL, 'mcp-method': 'tools/list' },
  body: JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/list',
    params: {
      _meta: { 'io.modelcontextprotocol/protocolVersion': PROTOCOL, 'io.modelcontextprotocol/clientCapabilities': {} },
    },
  }),
} satisfies Call;
/** A 2025-era request (no protocol header, no `_meta`): served through the SDK's stateless legacy path. */
const LIST_2025 = {
  method: 'POST',
  headers: MCP_HEADERS,
  body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
} satisfies Call;
/**
 * change.open's input for connection `n`: each connection resumes its own change, over and over. (Ten callers
 * renewing one lock at once exhaust its compare-and-swap retries and get ELOCKED naming themselves.)
 */
const openInput = (n: number) => ({ slug: `bench-resume-${n}`, title: `Bench resume ${n}` });
const OPEN: Call = {
  method: 'POST',
  headers: { ...AUTH, 'content-type': 'application/json', accept: 'application/json' },
  body: (n) => JSON.stringify(openInput(n)),
  verify: (body) => body.includes('"created":false'),
};
/** The same over MCP: `tools/call` of `change_open`. */
const OPEN_MCP: Call = {
  method: 'POST',
  headers: { ...LIST_2026.headers, 'mcp-method': 'tools/call', 'mcp-name': 'change_open' },
  body: (n) =>
    JSON.stringify({
      ...JSON.parse(LIST_2026.body),
      method: 'tools/call',
      params: { ...JSON.parse(LIST_2026.body).params, name: 'change_open', arguments: openInput(n) },
    }),
  verify: (body) => body.includes('"created":false') && !body.includes('"isError":true'),
};

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

/** The servers' environment: the built server (dist/), plain HTTP, rate and stream limits out of the way, request logging on as deployed. */
const serverEnv = (repo: TempRepo) => ({
  TASK_MCP_BUILT: '1',
  HOST: '127.0.0.1',
  PORT: '0',
  TLS: 'off',
  TASK_MCP_TOKENS: `alice:${TOKENS.alice}`,
  REPO_ROOT: repo.root,
  LOG_LEVEL: 'info',
  RATE_LIMIT_BURST: '1000000/1s',
  RATE_LIMIT_SUSTAINED: '100000000/1h',
  MAX_STREAMS_PER_CLIENT: '1000',
  MAX_STREAMS: '1000',
  MAX_CALLS_PER_CLIENT: '1000',
  MAX_CALLS: '1000',
});

/** Two rows (throughput and p99) for `ours` against `baseline`. */
const pair = (name: string, ours: Throughput, baseline: Throughput): Row[] => [
  { name: `${name}: throughput`, unit: 'req/s', ours: ours.reqPerSec, baseline: baseline.reqPerSec },
  { name: `${name}: p99 latency`, unit: 'ms', ours: ours.p99Ms, baseline: baseline.p99Ms },
];

async function throughput(scope: Scope, repo: TempRepo): Promise<Row[]> {
  const start = async (script: string, options: ServerProcessOptions): Promise<ServerProcess> => {
    const server = await startServerProcess(script, options);
    scope.defer(server.stop);
    return server;
  };
  const env = serverEnv(repo);
  const ours = await start(TASK_MCP, { env });
  const listed = (await (await fetch(`${ours.url}/mcp`, LIST_2026)).json()) as { result: unknown };
  const bare = await start(BARE, { env: { BENCH_LISTING: JSON.stringify(listed.result) } });
  const rows: Row[] = [];
  if (want('healthz')) rows.push(...(await health(start, env, ours, bare)));
  if (want('mcp')) rows.push(...(await listing(start, repo, ours, bare)));
  if (want('tracing')) rows.push(...(await tracingOff(scope, start, env, ours)));
  if (want('open')) rows.push(...(await opening(start, repo, ours)));
  const { errors } = (await ours.sample()) as unknown as { errors: number };
  if (errors > 0) throw new Error(`task-mcp logged ${errors} errors during the run`);
  return rows;
}

type Start = (script: string, options: ServerProcessOptions) => Promise<ServerProcess>;
const http = (server: ServerProcess, path: string, request: Call = {}) =>
  overHttp({ ...request, url: `${server.url}${path}` });
const compare = (...measures: Parameters<typeof sideBySide>[0]) => sideBySide(measures, SECONDS, ROUNDS);

async function health(start: Start, env: Record<string, string>, ours: ServerProcess, bare: ServerProcess) {
  const rows: Row[] = [];
  log('GET /healthz');
  const floor = await start(KOA_FLOOR, { env: {} });
  const measured = await start(TASK_MCP, { env: { ...env, METRICS_PORT: '0' } });
  const [health, bareHealth, floorHealth, measuredHealth] = await compare(
    http(ours, '/healthz'),
    http(bare, '/healthz'),
    http(floor, '/healthz'),
    http(measured, '/healthz'),
  );
  await Promise.all([floor.stop(), measured.stop()]);
  rows.push(...pair('`GET /healthz` vs bare node:http', health!, bareHealth!));
  rows.push(...pair('`GET /healthz` with metrics on (`METRICS_PORT`) vs bare node:http', measuredHealth!, bareHealth!));
  // Its p99 says nothing the bare row's does not: throughput only.
  rows.push({
    name: '`GET /healthz` vs Koa + @koa/router + koa-pino-logger alone: throughput',
    unit: 'req/s',
    ours: health!.reqPerSec,
    baseline: floorHealth!.reqPerSec,
  });

  log('GET /healthz over TLS');
  const cert = await testCertificate();
  const tls = { TLS: '', TLS_CERT: cert.certPath, TLS_KEY: cert.keyPath };
  const oursTls = await start(TASK_MCP, { env: { ...env, ...tls } });
  const bareTls = await start(BARE, { env: { ...tls, BENCH_LISTING: '{}' } });
  const [healthTls, bareHealthTls] = await compare(http(oursTls, '/healthz'), http(bareTls, '/healthz'));
  rows.push(...pair('`GET /healthz` over TLS vs bare node:https', healthTls!, bareHealthTls!));
  await Promise.all([oursTls.stop(), bareTls.stop()]);
  return rows;
}

async function listing(start: Start, repo: TempRepo, ours: ServerProcess, bare: ServerProcess) {
  const rows: Row[] = [];
  const reference = await start(MCP_SDK, { args: ['reference'], env: {} });
  const factory = await start(MCP_SDK, { args: ['factory'], env: { REPO_ROOT: repo.root } });
  log('tools/list');
  const [list, bareList, referenceList, factoryList] = await compare(
    http(ours, '/mcp', LIST_2026),
    http(bare, '/mcp', LIST_2026),
    http(reference, '/mcp', LIST_2026),
    http(factory, '/mcp', LIST_2026),
  );
  rows.push(...pair('MCP `tools/list` vs bare node:http JSON-RPC', list!, bareList!));
  rows.push(...pair('MCP `tools/list` vs SDK reference server', list!, referenceList!));
  rows.push(...pair('MCP `tools/list` vs our MCP server factory alone on node:http', list!, factoryList!));
  log('tools/list, 2025-era request');
  const [list2025, referenceList2025] = await compare(
    http(ours, '/mcp', LIST_2025),
    http(reference, '/mcp', LIST_2025),
  );
  rows.push(...pair('MCP `tools/list`, 2025-era request, vs SDK reference server', list2025!, referenceList2025!));
  return rows;
}

/**
 * `tools/list` with tracing off against the builds before issue 15 and before its wiring (each from its own
 * sources, so the figure also holds every later change: it shows no cost, not the cost alone).
 */
async function tracingOff(scope: Scope, start: Start, env: Record<string, string>, ours: ServerProcess) {
  const rows: Row[] = [];
  log('tools/list, tracing off, against earlier builds');
  for (const { commit, what } of [EARLIER.issue, EARLIER.wiring]) {
    const tree = await checkoutAt(scope, root(''), commit);
    if (!tree) continue;
    const earlier = await start(path.join(tree, 'tests/load/server.ts'), { env });
    const [now, then] = await compare(http(ours, '/mcp', LIST_2026), http(earlier, '/mcp', LIST_2026));
    rows.push(...pair(`MCP \`tools/list\`, tracing off, vs the build at ${commit} (${what})`, now!, then!));
    await earlier.stop();
  }
  return rows;
}

/**
 * Creates connection `n`'s change through `ours` (the first runs `openspec init`), so later calls resume it;
 * returns the result of a resume (JSON text).
 */
async function createOpenChanges(ours: ServerProcess): Promise<string> {
  const open = async (n: number): Promise<string> => {
    const url = `${ours.url}/v1/tools/change.open/invoke`;
    const reply = await fetch(url, { method: 'POST', headers: OPEN.headers, body: JSON.stringify(openInput(n)) });
    const text = await reply.text();
    if (reply.status !== 200) throw new Error(`change.open: status ${reply.status}: ${text}`);
    return text;
  };
  for (let n = 0; n < CONNECTIONS; n++) await open(n);
  return open(0);
}

/**
 * A resume over HTTP and MCP against the domain alone; and the SDK's reference server answering the same
 * `tools/call` with a tool that does no work (it returns a resume's result recorded from task-mcp): what the SDK
 * alone costs a call, which bounds the MCP row whatever task-mcp does around it.
 */
async function opening(start: Start, repo: TempRepo, ours: ServerProcess): Promise<Row[]> {
  log('change.open (resume)');
  const resumed = await createOpenChanges(ours);
  const reference = await start(MCP_SDK, { args: ['reference'], env: { REFERENCE_RESULT: resumed } });
  const service = createChangeService({ repoRoot: repo.root, events: { emit() {} }, version: '0' });
  const [invoke, call, direct, free] = await compare(
    http(ours, '/v1/tools/change.open/invoke', OPEN),
    http(ours, '/mcp', OPEN_MCP),
    inProcess((n) => service.open(openInput(n), { actor: 'alice' })),
    http(reference, '/mcp', OPEN_MCP),
  );
  service.close();
  await reference.stop();
  return [
    ...pair('`change.open` JSON invoke (resume) vs the domain called in-process', invoke!, direct!),
    ...pair('MCP `tools/call` `change_open` (resume) vs the domain called in-process', call!, direct!),
    ...pair(
      'MCP `tools/call` of a tool that does no work, SDK reference server, vs the domain called in-process',
      free!,
      direct!,
    ),
  ];
}

/** The domain's resume in-process, now and before issue 16 (before.ts), each on its own repo, side by side. */
async function resume(scope: Scope, before: Before): Promise<Row[]> {
  log(`change.open resume in-process, vs before issue 16 (${BEFORE.slice(0, 7)})`);
  const services = [];
  for (const create of [createChangeService, before.createChangeService]) {
    const repo = await createTempRepo();
    scope.defer(repo.remove);
    const service = create({ repoRoot: repo.root, events: { emit() {} }, version: '0' });
    scope.defer(() => service.close?.());
    for (let n = 0; n < CONNECTIONS; n++) await service.open(openInput(n), { actor: 'alice' });
    services.push(service);
  }
  const [now, then] = await compare(
    ...services.map((service) => inProcess((n) => service.open(openInput(n), { actor: 'alice' }))),
  );
  const name = `Domain \`change.open\` resume in-process, ${CONNECTIONS} loops, vs itself before issue 16`;
  return [
    { name: `${name}: throughput`, unit: 'calls/s', ours: now!.reqPerSec, baseline: then!.reqPerSec },
    { name: `${name}: p99 latency`, unit: 'ms', ours: now!.p99Ms, baseline: then!.p99Ms },
  ];
}

/** Memory per open stream, each server in a fresh process: one that served load keeps heap it does not return. */
async function memory(scope: Scope, repo: TempRepo): Promise<Row[]> {
  log(`memory per open stream (${STREAMS} streams)`);
  const measure = async (script: string, env: Record<string, string>) => {
    const server = await startServerProcess(script, { env });
    scope.defer(server.stop);
    try {
      return await memoryPerStream(server, '/v1/events', AUTH, STREAMS);
    } finally {
      await server.stop();
    }
  };
  const ours = await measure(TASK_MCP, serverEnv(repo));
  const bare = await measure(BARE, { BENCH_LISTING: '{}' });
  const name = (what: string) => `${what} per open \`/v1/events\` stream vs bare node:http SSE`;
  return [
    { name: name('Heap'), unit: 'B', ours: ours.heapBytes, baseline: bare.heapBytes },
    { name: name('RSS'), unit: 'B', ours: ours.rssBytes, baseline: bare.rssBytes },
  ];
}

/** Many idle streams on one process each (fresh), with a 1 s heartbeat and the stream caps raised above them. */
async function idle(scope: Scope, repo: TempRepo): Promise<Row[]> {
  log(`${IDLE.count} idle event streams, heartbeat every ${IDLE.heartbeatMs} ms`);
  const caps = { MAX_STREAMS: String(IDLE.count * 2), MAX_STREAMS_PER_CLIENT: String(IDLE.count * 2) };
  const heartbeat = { HEARTBEAT_MS: String(IDLE.heartbeatMs) };
  const measure = async (script: string, env: Record<string, string>) => {
    const server = await startServerProcess(script, { env });
    scope.defer(server.stop);
    try {
      return await idleStreams(server, '/v1/events', AUTH, IDLE);
    } finally {
      await server.stop();
    }
  };
  const ours = await measure(TASK_MCP, { ...serverEnv(repo), ...caps, ...heartbeat });
  const bare = await measure(BARE, { BENCH_LISTING: '{}', ...heartbeat });
  const name = (what: string) =>
    `${IDLE.count.toLocaleString('en-US')} idle \`/v1/events\` streams on one process vs bare node:http SSE: ${what}`;
  return [
    { name: name('RSS'), unit: 'B', ours: ours.rssBytes, baseline: bare.rssBytes },
    {
      name: name(`heartbeat lag p50 (\`HEARTBEAT_MS=${IDLE.heartbeatMs}\`)`),
      unit: 'ms',
      ours: ours.lagP50Ms,
      baseline: bare.lagP50Ms,
    },
    { name: name('heartbeat lag p99'), unit: 'ms', ours: ours.lagP99Ms, baseline: bare.lagP99Ms },
  ];
}

async function startup(repo: TempRepo): Promise<Row> {
  log(`start-up (median of ${STARTUP_RUNS})`);
  const bareServer = `require('node:http').createServer((q, s) => s.end('{}')).listen(0, '127.0.0.1', function () {
    process.stderr.write('listening on http://127.0.0.1:' + this.address().port + '\\n');
  });`;
  const env = { ...serverEnv(repo), LOG_LEVEL: 'warn' };
  return {
    name: 'Start-up, spawn to "listening": `node dist/src/main.js` vs `node -e` bare node:http',
    unit: 'ms',
    ours: await startupMs([root('dist/src/main.js')], env, STARTUP_RUNS),
    baseline: await startupMs(['-e', bareServer], {}, STARTUP_RUNS),
  };
}

async function main(): Promise<void> {
  const scope = createScope();
  const deadline = setTimeout(() => {
    log(`over ${DEADLINE_MS / 1000} s: stopping`);
    void scope.close().finally(() => process.exit(1));
  }, DEADLINE_MS);
  const interrupted = (): void => void scope.close().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const began = performance.now();
  const loadAtStart = loadNow();
  try {
    log('building dist/ (npm run build)');
    await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: root(''), timeout: 120_000 });
    const repo = await createTempRepo();
    scope.defer(repo.remove);
    const wantsBefore = want('resume') || want('domain');
    const before = wantsBefore ? await loadBefore(scope, root('')) : undefined;
    if (wantsBefore && !before) log(`no commit ${BEFORE} in this clone: the before/after rows are left out`);
    const rows: Row[] = [];
    if (want('healthz') || want('mcp') || want('open')) rows.push(...(await throughput(scope, repo)));
    if (want('resume') && before) rows.push(...(await resume(scope, before)));
    if (want('memory')) rows.push(...(await memory(scope, repo)));
    if (want('idle')) rows.push(...(await idle(scope, repo)));
    if (want('startup')) rows.push(await startup(repo));
    if (want('scale'))
      rows.push(
        ...(await scaleRows({
          scope,
          script: TASK_MCP,
          env: serverEnv(repo),
          calls: { 'MCP `tools/list`': LIST_2026, 'MCP `tools/call` `change_open` (resume)': OPEN_MCP },
          seconds: SECONDS,
          rounds: ROUNDS,
          samples: FANOUT_SAMPLES,
          auth: AUTH,
          log,
        })),
      );
    if (want('domain')) {
      log(`the domain in-process (median of ${DOMAIN_RUNS})`);
      rows.push(...(await domainRows(DOMAIN_RUNS, before)));
    }
    const settings =
      `autocannon with ${CONNECTIONS} connections on 127.0.0.1 (plain HTTP unless marked TLS); each throughput ` +
      `row is the best of ${ROUNDS} interleaved ${SECONDS} s rounds after a 1 s warm-up; ${STREAMS} streams; ` +
      `start-up median of ${STARTUP_RUNS}; domain rows median of ${DOMAIN_RUNS}; fan-out over ${FANOUT_SAMPLES} ` +
      `opens, one at a time; whole run ${Math.round((performance.now() - began) / 1000)} s.`;
    const section = `${machine(COMMAND, loadAtStart, settings)}\n\n${table(rows)}`;
    console.log(`\n${section}\n`);
    if (QUICK || only) log(`${QUICK ? 'BENCH_QUICK' : 'BENCH_ONLY'}: ${DOC} left as it is`);
    else {
      await writeSection(DOC, section);
      log(`wrote ${DOC}`);
    }
  } finally {
    clearTimeout(deadline);
    await scope.close();
  }
}

await main();
