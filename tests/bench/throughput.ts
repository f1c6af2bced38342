/**
 * Requests per second and p99 latency: over HTTP with autocannon (in this process, the server in another), or of
 * an in-process call run by as many concurrent loops as autocannon has connections. Things compared are measured
 * in interleaved rounds (A, B, A, B), after a warm-up whose figures are dropped, and each keeps its best round:
 * load from other processes on a shared machine then weighs on every side alike. Latencies are kept to the
 * microsecond (autocannon's own histogram rounds to whole milliseconds, too coarse for sub-millisecond routes).
 */
import autocannon from 'autocannon';
import { within } from '../helpers/within.js';

export const CONNECTIONS = 10;
const WARMUP_SECONDS = 1;

export interface Target {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** The request body, or each connection's (connections are numbered from 0). */
  body?: string | ((connection: number) => string);
  /** Whether a 2xx response's body is a success (a failed MCP tool call is a 200 with `isError`). */
  verify?: (body: string) => boolean;
}

export interface Throughput {
  reqPerSec: number;
  p99Ms: number;
}

/**
 * tests/load/autocannon.d.ts types only what the load test uses: autocannon also takes `setupClient` (called once
 * per connection), and what it returns is an EventEmitter as well as a promise.
 */
interface Options extends Omit<autocannon.Options, 'body'> {
  body?: string;
  setupClient?: (client: { setBody(body: string): void }) => void;
  verifyBody?: (body: string) => boolean;
}
interface Run extends PromiseLike<autocannon.Result & { mismatches: number }> {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): Run;
}
const startRun = autocannon as unknown as (options: Options) => Run;

/** One measurement of `seconds`, after `warmupSeconds` of unrecorded load when that is not 0. */
export type Measure = (seconds: number, warmupSeconds: number) => Promise<Throughput>;

/** `target` driven by autocannon; any socket error, timeout or status but 2xx fails the run. */
export const overHttp =
  (target: Target): Measure =>
  async (seconds, warmupSeconds) => {
    if (warmupSeconds > 0) await cannon(target, warmupSeconds);
    return cannon(target, seconds);
  };

/** `call` run in this process from CONNECTIONS concurrent loops (numbered from 0); a failing call fails the run. */
export const inProcess =
  (call: (loop: number) => Promise<unknown>): Measure =>
  async (seconds, warmupSeconds) => {
    if (warmupSeconds > 0) await loop(call, warmupSeconds);
    const started = performance.now();
    const latencies = await loop(call, seconds);
    return {
      reqPerSec: Math.round(latencies.length / ((performance.now() - started) / 1000)),
      p99Ms: p99(latencies),
    };
  };

/** Each of `measures` over `rounds` interleaved rounds of `seconds`; each one's best throughput and best p99. */
export async function sideBySide(measures: Measure[], seconds: number, rounds: number): Promise<Throughput[]> {
  const best: Throughput[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const [i, measure] of measures.entries()) {
      const figures = await measure(seconds, round === 0 ? WARMUP_SECONDS : 0);
      const previous = best[i] ?? figures;
      best[i] = {
        reqPerSec: Math.max(previous.reqPerSec, figures.reqPerSec),
        p99Ms: Math.min(previous.p99Ms, figures.p99Ms),
      };
    }
  }
  return best;
}

async function cannon(target: Target, seconds: number): Promise<Throughput> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const { body } = target;
  let connection = 0;
  const run = startRun({
    url: target.url,
    method: target.method ?? 'GET',
    headers: target.headers,
    ...(typeof body === 'function' ? { setupClient: (client) => client.setBody(body(connection++)) } : { body }),
    ...(target.verify ? { verifyBody: target.verify } : {}),
    connections: CONNECTIONS,
    duration: seconds,
  }).on('response', (_client, status, _bytes, ms) => {
    latencies.push(ms);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  });
  const result = await within((seconds + 20) * 1000, `autocannon ${target.url}`, Promise.resolve(run));
  const failed = [...statuses].filter(([status]) => status < 200 || status > 299);
  if (result.errors + result.timeouts + result.mismatches > 0 || failed.length > 0) {
    const { errors, timeouts, mismatches } = result;
    const detail = JSON.stringify({ errors, timeouts, mismatches, statuses: [...statuses] });
    throw new Error(`${target.method ?? 'GET'} ${target.url} failed under load: ${detail}`);
  }
  return { reqPerSec: Math.round(result.requests.average), p99Ms: p99(latencies) };
}

async function loop(call: (loop: number) => Promise<unknown>, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  let end = performance.now() + seconds * 1000;
  const worker = async (_: unknown, n: number): Promise<void> => {
    try {
      while (performance.now() < end) {
        const start = performance.now();
        await call(n);
        latencies.push(performance.now() - start);
      }
    } catch (err) {
      end = 0; // the other loops stop too, so nothing runs on after the failure is reported
      throw err;
    }
  };
  const failed = (await Promise.allSettled(Array.from({ length: CONNECTIONS }, worker))).find(
    (outcome) => outcome.status === 'rejected',
  );
  if (failed) throw failed.reason;
  return latencies;
}

function p99(latencies: number[]): number {
  if (latencies.length === 0) throw new Error('no request completed');
  const sorted = Float64Array.from(latencies).sort();
  return sorted[Math.ceil(sorted.length * 0.99) - 1]!;
}
