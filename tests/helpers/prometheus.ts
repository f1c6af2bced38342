/**
 * A real Prometheus (Debian's `prometheus` package) for a test, unprivileged: its configuration and its TSDB in a
 * temp directory, its web API on a free port of 127.0.0.1, a one-second scrape of one target, stopped by its PID.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { collectOutput } from './child-output.js';
import { freePort } from './free-port.js';
import { until, within } from './within.js';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

export interface PrometheusOptions {
  /** `host:port` to scrape at `/metrics`, as job `task-mcp`. */
  target: string;
  /** Sent as the scrape's bearer token. */
  token?: string;
  /** Rule files to load (absolute paths). */
  ruleFiles?: string[];
}

/** One series of an instant query's answer. */
export interface Series {
  metric: Record<string, string>;
  value: number;
}

export interface TestPrometheus {
  url: string;
  /** Runs an instant query (`/api/v1/query`); rejects with Prometheus's error for a bad expression. */
  query(expr: string): Promise<Series[]>;
  /** GET of an API path, its `data` (rejects unless `status` is `success`). */
  api<T>(apiPath: string): Promise<T>;
  /** SIGTERM to its PID, then waits for it to exit; removes its directory. */
  stop(): Promise<void>;
}

/** Starts Prometheus and resolves once it is ready to answer queries. */
export async function startPrometheus(options: PrometheusOptions): Promise<TestPrometheus> {
  const dir = await mkdtemp(path.join(tmpdir(), 'task-mcp-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  await writeFile(config, stringify(configOf(options)));
  const port = await freePort();
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const log = collectOutput(child, child.stderr);
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
    await within(15_000, 'prometheus to exit', exited).catch(() => process.kill(child.pid!, 'SIGKILL'));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await log.until(/Server is ready to receive web requests/, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  const api = async <T>(apiPath: string): Promise<T> => {
    const res = await fetch(`${url}${apiPath}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${apiPath}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    api,
    async query(expr) {
      const data = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      return data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
    },
    stop,
  };
}

/** The one series `expr` selects, once Prometheus has it with `value` (it waits for the next scrapes). */
export async function settled(prometheus: TestPrometheus, expr: string, value: number): Promise<Series> {
  let series: Series[] = [];
  await until(30_000, `${expr} == ${value}`, async () => {
    series = await prometheus.query(expr);
    return series.length === 1 && series[0]!.value === value;
  });
  return series[0]!;
}

function configOf({ target, token, ruleFiles = [] }: PrometheusOptions) {
  return {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: ruleFiles,
    scrape_configs: [
      {
        job_name: 'task-mcp',
        metrics_path: '/metrics',
        ...(token ? { authorization: { type: 'Bearer', credentials: token } } : {}),
        static_configs: [{ targets: [target] }],
      },
    ],
  };
}
