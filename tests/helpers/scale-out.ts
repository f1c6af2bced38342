/**
 * Scale-out on real parts: instances of the real server (child processes of `src/main.ts`, each maybe a cluster
 * of `WORKERS`) on one git repository and one real `redis-server` (keeping its data across a kill), behind the
 * shipped nginx recipe with one `server` line per instance (round-robin, no stickiness). Every process is stopped
 * by its PID: nginx by SIGQUIT, the instances by SIGTERM (a primary drains its workers), Redis by SIGTERM.
 *
 * With `embedded`, the one instance runs on the embedded defaults (a printed token, a generated certificate, a
 * demo repository), as `npm start` does with nothing configured.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { startProxy, type Proxy } from './nginx.js';
import { startRedis, type TestRedis } from './redis.js';
import { createTempRepo, type TempRepo } from './repo.js';
import { CLUSTER_START_MS, startServerProcess, type Line, type ServerProcess } from './server-process.js';
import { TOKENS } from './server.js';
import { testCertificate } from './tls.js';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
/** Every instance signs and checks cookies with it: a cookie from one opens streams on the others. */
export const COOKIE_SECRET = 'scale-out-cookie-secret-0123456789abcdef';
/** The stores each process connects to Redis, as its log names them. */
const STORES = [
  'event bus',
  'rate-limit store',
  'session store',
  'instance bus',
  'stream-cap store',
  'SSE session registry',
];

export interface Instance {
  /** Its own URL, not through nginx. */
  readonly url: string;
  /** The process: the server, or with WORKERS > 1 the primary. */
  readonly proc: ServerProcess;
  /** The processes that serve now: the server itself, or the primary's live workers. */
  pids(): number[];
  /** SIGKILL to its PID; resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again on its port; resolves once it serves, its stores connected. */
  restart(): Promise<void>;
}

export interface ScaleOut {
  instances: Instance[];
  /** nginx's URL; with `proxy: false`, the first instance's. */
  url: string;
  /** The bearer token of every call: alice's, or the embedded default's. */
  token: string;
  /** The served repository's work tree. */
  repoRoot: string;
  redis: TestRedis;
  /** The certificate nginx and the instances serve (the embedded default's own, with `embedded`). */
  ca: string;
  /** `fetch` that trusts `ca` (plain HTTP goes through it too). */
  fetch: typeof globalThis.fetch;
  /** `fetch` of `base + path` with the bearer token. */
  authed(base: string, path: string, init?: RequestInit): Promise<Response>;
  /** Kills Redis (SIGKILL to its PID). */
  killRedis(): Promise<void>;
  /** Starts Redis again on its port with its data; resolves once every process has reconnected. */
  restartRedis(): Promise<void>;
  stop(): Promise<void>;
}

export interface ScaleOutOptions {
  /** Default 3. */
  instances?: number;
  /** `WORKERS` of each instance; default 1. */
  workers?: number;
  /** nginx in front; default true. */
  proxy?: boolean;
  /** One instance on the embedded defaults (no tokens, no repository, no TLS configured). */
  embedded?: boolean;
  env?: Record<string, string>;
}

/** Each `worker listening` adds a worker, each `worker died` or `worker stopped` takes it away. */
const liveWorkers = (lines: Line[]): number[] => {
  const live = new Set<number>();
  for (const { msg, worker } of lines) {
    if (typeof worker !== 'number') continue;
    if (msg === 'worker listening') live.add(worker);
    else if (msg === 'worker died; restarting it' || msg === 'worker stopped') live.delete(worker);
  }
  return [...live];
};

/** Resolves once each of `pids` has logged each store connected, from line `from` on. */
async function storesConnected(proc: ServerProcess, pids: number[], from: number): Promise<void> {
  for (const pid of pids) {
    for (const store of STORES) {
      const connected = (line: Line): boolean =>
        line.pid === pid && typeof line.msg === 'string' && line.msg.startsWith(`${store}: Redis connected`);
      await proc.line(connected, `${store} of ${pid} connected`, { from, ms: CLUSTER_START_MS });
    }
  }
}

export async function startScaleOut(options: ScaleOutOptions = {}): Promise<ScaleOut> {
  const { instances: count = 3, workers = 1, proxy: withProxy = true, embedded = false, env = {} } = options;
  if (embedded && count !== 1) throw new Error('the embedded defaults are one instance’s own');
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.splice(0).reverse()) await step();
  };
  try {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'task-mcp-scale-redis-'));
    stops.push(() => rm(dataDir, { recursive: true, force: true }));
    let redis = await startRedis(undefined, { persistIn: dataDir });
    stops.push(() => redis.stop());
    const stateDir = await mkdtemp(path.join(tmpdir(), 'task-mcp-scale-state-'));
    stops.push(() => rm(stateDir, { recursive: true, force: true }));
    const repo: TempRepo | undefined = embedded ? undefined : await createTempRepo();
    if (repo) stops.push(() => repo.remove());
    const configured: Record<string, string> = repo
      ? { TASK_MCP_TOKENS: `alice:${TOKENS.alice},bob:${TOKENS.bob}`, REPO_ROOT: repo.root, TLS: 'off' }
      : {};
    const baseEnv = {
      HOST: '127.0.0.1',
      TRUST_PROXY: '1',
      REDIS_URL: redis.url,
      COOKIE_SECRET,
      TASK_MCP_STATE_DIR: stateDir,
      SHUTDOWN_GRACE_MS: '1000',
      LOG_LEVEL: 'info',
      WORKERS: String(workers),
      ...configured,
      ...env,
    };
    const instances = await Promise.all(
      Array.from({ length: count }, () => startInstance({ ...baseEnv, PORT: '0' }, workers, stops)),
    );
    const cert = await testCertificate();
    const ca = embedded ? await readFile(path.join(stateDir, 'dev-cert.pem'), 'utf8') : cert.cert;
    const dispatcher = new Agent({ connect: { ca } });
    stops.push(() => dispatcher.close());
    const fetch = ((input: string | URL, init?: RequestInit) =>
      undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof globalThis.fetch;
    let proxy: Proxy | undefined;
    if (withProxy) {
      proxy = await startProxy(instances.map((instance) => instance.url));
      stops.push(() => proxy!.stop());
    }
    const token = embedded ? developmentToken(instances[0]!.proc) : TOKENS.alice;
    const everyConnected = async (froms: number[]): Promise<void> => {
      await Promise.all(instances.map((i, n) => storesConnected(i.proc, i.pids(), froms[n]!)));
    };
    return {
      instances,
      url: proxy?.url ?? instances[0]!.url,
      token,
      ca,
      repoRoot: repo?.root ?? path.join(stateDir, 'demo-repo'),
      get redis() {
        return redis;
      },
      fetch,
      authed: (base, urlPath, init = {}) =>
        fetch(base + urlPath, {
          ...init,
          headers: { Authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
        }),
      killRedis: () => redis.kill(),
      async restartRedis() {
        const froms = instances.map((i) => i.proc.lines().length);
        redis = await startRedis(redis.port, { persistIn: dataDir });
        await everyConnected(froms);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The token the embedded default printed, once, on stderr. */
function developmentToken(proc: ServerProcess): string {
  const token = /development token .*: (\S+)/.exec(proc.stderr())?.[1];
  if (!token) throw new Error(`no development token printed:\n${proc.stderr()}`);
  return token;
}

/** Starts one instance (its primary's stop registered in `stops`), resolved once it serves on every process. */
async function startInstance(
  env: Record<string, string>,
  workers: number,
  stops: Array<() => Promise<unknown>>,
): Promise<Instance> {
  const launch = async (port: string): Promise<ServerProcess> => {
    const proc = await startServerProcess(MAIN, {
      env: { ...env, PORT: port },
      stderr: 'capture',
      startMs: CLUSTER_START_MS,
    });
    stops.push(() => proc.stop());
    if (workers > 1)
      await proc.line((l) => l.msg === 'workers listening', 'every worker listening', { ms: CLUSTER_START_MS });
    await storesConnected(proc, pidsOf(proc), 0);
    return proc;
  };
  const pidsOf = (proc: ServerProcess): number[] => (workers > 1 ? liveWorkers(proc.lines()) : [proc.pid]);
  let proc = await launch(env.PORT!);
  const url = proc.url;
  return {
    url,
    get proc() {
      return proc;
    },
    pids: () => pidsOf(proc),
    async kill() {
      proc.signal('SIGKILL');
      await proc.exited;
    },
    async restart() {
      proc = await launch(new URL(url).port);
    },
  };
}
