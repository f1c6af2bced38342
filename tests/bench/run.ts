/**
 * `npm run bench`: task-mcp side by side with a baseline in the same run, printed as a table and written into
 * docs/benchmarks.md. Every server runs in its own child process; autocannon and the stream clients run here.
 * BENCH_SECONDS sets the seconds per round of a throughput row (default 3; two rounds each). BENCH_QUICK=1 runs
 * every row briefly (one 1 s round, fewer streams, samples and runs) and prints the table without writing the doc:
 * a check that the bench works, not figures to keep. Whatever happens, everything started is stopped and the run
 * ends within DEADLINE_MS.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createChangeService } from '../../src/changes/index.js';
import { createTempRepo, type TempRepo } from '../helpers/repo.js';
import { TOKENS } from '../helpers/server.js';
import { testCertificate } from '../helpers/tls.js';
import { startServerProcess, type ServerProcess, type ServerProcessOptions } from '../helpers/server-process.js';
import { loadNow, machine, table, writeSection, type Row } from './report.js';
import { domainRows } from './domain.js';
import { createScope, type Scope } from './scope.js';
import { startupMs } from './startup.js';
import { scaleRows } from './scale.js';
import { memoryPerStream } from './streams.js';
import { CONNECTIONS, inProcess, overHttp, sideBySide, type Target, type Throughput } from './throughput.js';

const QUICK = process.env.BENCH_QUICK === '1';
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 1 : 3));
const ROUNDS = QUICK ? 1 : 2;
const STREAMS = QUICK ? 50 : 200;
const STARTUP_RUNS = QUICK ? 2 : 5;
const DOMAIN_RUNS = QUICK ? 3 : 7;
const FANOUT_SAMPLES = QUICK ? 20 : 200;
const DEADLINE_MS = 360_000;
const COMMAND = 'npm run bench';

const root = (relative: string): string => fileURLToPath(new URL(`../../${relative}`, import.meta.url));
const TASK_MCP = root('tests/load/server.ts');
const BARE = root('tests/bench/servers/bare.ts');
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

/** The servers' environment: plain HTTP, rate and stream limits out of the way, request logging on as deployed. */
const serverEnv = (repo: TempRepo) => ({
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
  const reference = await start(MCP_SDK, { args: ['reference'], env: {} });
  const factory = await start(MCP_SDK, { args: ['factory'], env: { REPO_ROOT: repo.root } });
  const http = (server: ServerProcess, path: string, request: Call = {}) =>
    overHttp({ ...request, url: `${server.url}${path}` });
  const compare = (...measures: Parameters<typeof sideBySide>[0]) => sideBySide(measures, SECONDS, ROUNDS);
  const rows: Row[] = [];

  log('GET /healthz');
  const [health, bareHealth] = await compare(http(ours, '/healthz'), http(bare, '/healthz'));
  rows.push(...pair('`GET /healthz` vs bare node:http', health!, bareHealth!));

  log('GET /healthz over TLS');
  const cert = await testCertificate();
  const tls = { TLS: '', TLS_CERT: cert.certPath, TLS_KEY: cert.keyPath };
  const oursTls = await start(TASK_MCP, { env: { ...env, ...tls } });
  const bareTls = await start(BARE, { env: { ...tls, BENCH_LISTING: '{}' } });
  const [healthTls, bareHealthTls] = await compare(http(oursTls, '/healthz'), http(bareTls, '/healthz'));
  rows.push(...pair('`GET /healthz` over TLS vs bare node:https', healthTls!, bareHealthTls!));
  await Promise.all([oursTls.stop(), bareTls.stop()]);

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

  log('change.open (resume)');
  // The first calls create the changes (and run `openspec init`); every measured one resumes one.
  for (let n = 0; n < CONNECTIONS; n++) {
    const body = JSON.stringify(openInput(n));
    const first = await fetch(`${ours.url}/v1/tools/change.open/invoke`, {
      method: 'POST',
      headers: OPEN.headers,
      body,
    });
    if (first.status !== 200) throw new Error(`change.open: status ${first.status}: ${await first.text()}`);
  }
  const service = createChangeService({ repoRoot: repo.root, events: { emit() {} }, version: '0' });
  const [invoke, call, direct] = await compare(
    http(ours, '/v1/tools/change.open/invoke', OPEN),
    http(ours, '/mcp', OPEN_MCP),
    inProcess((n) => service.open(openInput(n), { actor: 'alice' })),
  );
  rows.push(...pair('`change.open` JSON invoke (resume) vs the domain called in-process', invoke!, direct!));
  rows.push(...pair('MCP `tools/call` `change_open` (resume) vs the domain called in-process', call!, direct!));

  const { errors } = (await ours.sample()) as unknown as { errors: number };
  if (errors > 0) throw new Error(`task-mcp logged ${errors} errors during the run`);
  return rows;
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
    const rows = [...(await throughput(scope, repo)), ...(await memory(scope, repo)), await startup(repo)];
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
    log(`the domain in-process (median of ${DOMAIN_RUNS})`);
    rows.push(...(await domainRows(DOMAIN_RUNS)));
    const settings =
      `autocannon with ${CONNECTIONS} connections on 127.0.0.1 (plain HTTP unless marked TLS); each throughput ` +
      `row is the best of ${ROUNDS} interleaved ${SECONDS} s rounds after a 1 s warm-up; ${STREAMS} streams; ` +
      `start-up median of ${STARTUP_RUNS}; domain rows median of ${DOMAIN_RUNS}; fan-out over ${FANOUT_SAMPLES} ` +
      `opens, one at a time; whole run ${Math.round((performance.now() - began) / 1000)} s.`;
    const section = `${machine(COMMAND, loadAtStart, settings)}\n\n${table(rows)}`;
    console.log(`\n${section}\n`);
    if (QUICK) return log(`BENCH_QUICK: ${DOC} left as it was`);
    await writeSection(DOC, section);
    log(`wrote ${DOC}`);
  } finally {
    clearTimeout(deadline);
    await scope.close();
  }
}

await main();
