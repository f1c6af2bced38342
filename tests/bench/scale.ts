/**
 * The scale-out rows of `npm run bench`: throughput through the shipped nginx recipe in front of one instance vs
 * two on one Redis (the ratio is what a second instance buys on this machine), and how long an event takes from a
 * `change.open` on one instance to a `/v1/events` stream held on another, against the in-process feed of one
 * instance without Redis (open and stream on the same process).
 */
import { startProxy } from '../helpers/nginx.js';
import { startRedis } from '../helpers/redis.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { within } from '../helpers/within.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';
import { overHttp, sideBySide, type Target } from './throughput.js';

export interface ScaleBench {
  scope: Scope;
  /** The task-mcp server script and its environment (plain HTTP, limits out of the way). */
  script: string;
  env: Record<string, string>;
  /** The requests measured through nginx, by row name; each must succeed on every instance. */
  calls: Record<string, Omit<Target, 'url'>>;
  seconds: number;
  rounds: number;
  /** Opens measured for the fan-out latency. */
  samples: number;
  auth: Record<string, string>;
  log(message: string): void;
}

/** How long one event may take to arrive before the run fails. */
const EVENT_MS = 10_000;

export async function scaleRows(bench: ScaleBench): Promise<Row[]> {
  const { scope, env, script } = bench;
  const redis = await startRedis();
  scope.defer(redis.stop);
  const start = async (extra: Record<string, string>): Promise<ServerProcess> => {
    const server = await startServerProcess(script, { env: { ...env, ...extra } });
    scope.defer(server.stop);
    return server;
  };
  const shared = { REDIS_URL: redis.url, TRUST_PROXY: '1' };
  const [a, b] = await Promise.all([start(shared), start(shared)]);
  const one = await startProxy([a!.url]);
  scope.defer(one.stop);
  const two = await startProxy([a!.url, b!.url]);
  scope.defer(two.stop);

  const rows: Row[] = [];
  for (const [name, call] of Object.entries(bench.calls)) {
    bench.log(`${name} through nginx, 1 instance vs 2`);
    const [twoFigures, oneFigures] = await sideBySide(
      [overHttp({ ...call, url: two.url + '/mcp' }), overHttp({ ...call, url: one.url + '/mcp' })],
      bench.seconds,
      bench.rounds,
    );
    rows.push({
      name: `${name} through nginx: 2 instances vs 1 (one Redis), throughput`,
      unit: 'req/s',
      ours: twoFigures!.reqPerSec,
      baseline: oneFigures!.reqPerSec,
    });
  }

  bench.log(`event fan-out latency (${bench.samples} opens)`);
  const alone = await start({});
  const across = await latencies(bench, a!, b!);
  const local = await latencies(bench, alone, alone);
  const name = (p: string) =>
    `Event fan-out, \`change.open\` on one instance to a \`/v1/events\` stream on another (Redis) vs the in-process feed: ${p}`;
  rows.push({ name: name('p50'), unit: 'ms', ours: percentile(across, 0.5), baseline: percentile(local, 0.5) });
  rows.push({ name: name('p99'), unit: 'ms', ours: percentile(across, 0.99), baseline: percentile(local, 0.99) });
  return rows;
}

/**
 * For each of `bench.samples` opens (resumes) of one change on `opener`, the time from sending it to its event on
 * a stream held on `holder`, one open at a time. The first opens are a warm-up (an instance's bus may still be
 * connecting), not counted.
 */
async function latencies(bench: ScaleBench, opener: ServerProcess, holder: ServerProcess): Promise<number[]> {
  const slug = `bench-fanout-${opener.pid}-${holder.pid}`;
  const abort = new AbortController();
  const res = await fetch(`${holder.url}/v1/events`, { headers: bench.auth, signal: abort.signal });
  if (res.status !== 200) throw new Error(`/v1/events: status ${res.status}`);
  const arrivals = eventsOf(res.body!, slug);
  const open = async (): Promise<void> => {
    const reply = await fetch(`${opener.url}/v1/tools/change.open/invoke`, {
      method: 'POST',
      headers: { ...bench.auth, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ slug, title: `Bench fan-out ${slug}` }),
    });
    if (reply.status !== 200) throw new Error(`change.open: status ${reply.status}: ${await reply.text()}`);
    await reply.arrayBuffer();
  };
  try {
    const times: number[] = [];
    for (let i = -3; i < bench.samples; i++) {
      const arrived = within(EVENT_MS, `the event of open ${i} on ${holder.url}`, arrivals.next());
      const sent = performance.now();
      await open();
      await arrived;
      if (i >= 0) times.push(performance.now() - sent);
    }
    return times;
  } finally {
    abort.abort();
  }
}

/** The SSE events of `body` that name `slug`, each as the next value of the iterator. */
function eventsOf(body: ReadableStream<Uint8Array>, slug: string): AsyncIterator<void> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffered = '';
  const mark = `"slug":"${slug}"`;
  return {
    async next() {
      for (;;) {
        const end = buffered.indexOf('\n\n');
        if (end >= 0) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (event.includes(mark)) return { done: false, value: undefined };
          continue;
        }
        const { done, value } = await reader.read();
        if (done) throw new Error('the event stream ended');
        buffered += decoder.decode(value, { stream: true });
      }
    },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)]!;
}
