/**
 * `WORKERS` > 1: several server processes behind one port (node:cluster; the primary accepts the connections and
 * deals them to the workers round-robin). The primary serves nothing itself. It resolves the embedded defaults once
 * (one token printed, one certificate, one demo repository, one cookie secret) and hands them to every worker in
 * its environment; it restarts a worker that dies, later each time it dies young, so a crash loop does not spin;
 * on SIGTERM/SIGINT it sends SIGTERM to every worker, each drains as a single process does (src/main.ts), and the
 * primary exits once all have: 0 when each exited 0, else 1. A worker still running at SHUTDOWN_GRACE_MS plus
 * DRAIN_MARGIN_MS is killed. With `METRICS_PORT`, the primary serves the one `/metrics` of the instance: the
 * workers' metrics added up (src/metrics/cluster.ts); it starts before the workers and stops after them.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config/index.js';
import { withEmbeddedDefaults } from './embedded-defaults.js';
import { serveMetrics, workersExposition } from './metrics/index.js';

/** The first restart after a death. */
const RESTART_BASE_MS = 100;
/** The longest wait between two restarts of a worker that keeps dying. */
const RESTART_MAX_MS = 30_000;
/** A worker that lived this long did not die of its start: its restart is quick again. */
const STABLE_MS = 10_000;
/**
 * How long past the grace a worker may take to exit: after cutting its calls it still closes its Redis
 * connections (each command bounded at 1 s) before it exits.
 */
export const DRAIN_MARGIN_MS = 3000;

const LISTENING = 'task-mcp:listening';

/** A worker's word to its primary that it serves. */
interface ListeningMessage {
  type: typeof LISTENING;
  url: string;
}

const isListening = (message: unknown): message is ListeningMessage =>
  typeof message === 'object' &&
  message !== null &&
  (message as ListeningMessage).type === LISTENING &&
  typeof (message as ListeningMessage).url === 'string';

/**
 * How long to wait before restarting a worker that died young `youngDeaths` times in a row (1 for the first
 * death): doubling from 100 ms, at most 30 s.
 */
export function restartDelay(youngDeaths: number): number {
  return Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (Math.max(1, youngDeaths) - 1));
}

/** In a worker: tells the primary that this worker listens at `url`. */
export function tellPrimaryListening(url: string): void {
  process.send?.({ type: LISTENING, url } satisfies ListeningMessage);
}

export interface PrimaryOptions {
  /** Where the primary's log lines go (the workers log to their own stdout, the same one). */
  logDestination: DestinationStream;
  /** Prints a line meant for a person (stderr). */
  print(line: string): void;
}

/**
 * Runs the primary of `config.workers` workers until they are drained; resolves with the exit code.
 *
 * @example
 * process.exit(await runPrimary(readConfig(process.env), { logDestination, print }));
 */
export async function runPrimary(config: Config, { logDestination, print }: PrimaryOptions): Promise<number> {
  const runtime = await withEmbeddedDefaults(config);
  for (const notice of runtime.notices) print(notice);
  const logger = pino(
    { level: config.logLevel, base: { service: 'task-mcp', pid: process.pid, role: 'primary' } },
    logDestination,
  );
  if (config.redisUrl === undefined) {
    logger.warn(
      { workers: config.workers },
      'WORKERS_WITHOUT_REDIS=1: each worker keeps its own change feed, rate limits and sign-outs',
    );
  }
  // One secret for all: a cookie signed by one worker must be accepted by the others.
  const secret = config.cookieSecret ? {} : { COOKIE_SECRET: randomBytes(32).toString('base64url') };
  const env = { ...runtime.pinned, ...secret };
  const scrape = await serveMetrics(config.metrics, workersExposition(), logger, { workers: true });
  const supervisor = supervise({
    count: config.workers,
    fork: () => cluster.fork(env),
    logger,
    graceMs: config.shutdownGraceMs,
    onServing(url, workers) {
      logger.info({ url, workers }, 'workers listening');
      print(`listening on ${url} (${workers.length} workers)`);
    },
  });
  process.on('SIGTERM', supervisor.drain);
  process.on('SIGINT', supervisor.drain);
  const code = await supervisor.exited;
  await scrape?.stop();
  logger.info({ code }, 'stopped');
  return code;
}

interface SuperviseDeps {
  count: number;
  fork(): Worker;
  logger: Logger;
  graceMs: number;
  /** Called once, when every first worker listens. */
  onServing(url: string, workers: number[]): void;
}

interface Supervisor {
  /** Starts the drain (a second call only logs). */
  drain(signal: NodeJS.Signals): void;
  /** Resolves with the exit code once every worker is gone after a drain or a failed start. */
  exited: Promise<number>;
}

/** One place for a worker: the one running there now, and how its predecessors fared. */
interface Slot {
  worker: Worker | undefined;
  listening: boolean;
  startedAt: number;
  youngDeaths: number;
  restart: NodeJS.Timeout | undefined;
}

/** Forks `count` workers and keeps them running until `drain`. */
function supervise({ count, fork, logger, graceMs, onServing }: SuperviseDeps): Supervisor {
  const slots: Slot[] = Array.from({ length: count }, () => ({
    worker: undefined,
    listening: false,
    startedAt: 0,
    youngDeaths: 0,
    restart: undefined,
  }));
  /** `starting` until every first worker listens: a worker that fails then fails the start, as one process would. */
  let phase: 'starting' | 'serving' | 'stopping' = 'starting';
  let code = 0;
  let deadline: NodeJS.Timeout | undefined;
  let finish!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (finish = resolve));

  const live = (): Worker[] => slots.flatMap((slot) => (slot.worker ? [slot.worker] : []));
  const pids = (): number[] => live().map((worker) => worker.process.pid!);
  const done = (): void => {
    clearTimeout(deadline);
    finish(code);
  };

  const start = (slot: Slot): void => {
    const worker = fork();
    Object.assign(slot, { worker, listening: false, startedAt: Date.now(), restart: undefined });
    worker.on('message', (message: unknown) => {
      if (isListening(message)) listened(slot, worker, message.url);
    });
    worker.on('exit', (exitCode: number | null, signal: NodeJS.Signals | null) =>
      died(slot, { worker: worker.process.pid, code: exitCode, signal }),
    );
  };

  const listened = (slot: Slot, worker: Worker, url: string): void => {
    slot.listening = true;
    logger.info({ worker: worker.process.pid, url }, 'worker listening');
    if (phase === 'starting' && slots.every((s) => s.listening)) {
      phase = 'serving';
      onServing(url, pids());
    }
  };

  const died = (slot: Slot, how: { worker?: number; code: number | null; signal: NodeJS.Signals | null }): void => {
    slot.worker = undefined;
    if (phase === 'stopping') {
      // A worker still starting has nothing to drain yet: the SIGTERM that ends it is a clean stop.
      const clean = how.code === 0 || (!slot.listening && how.signal === 'SIGTERM');
      if (!clean) code ||= 1;
      logger.info(how, 'worker stopped');
      if (live().length === 0) done();
      return;
    }
    if (phase === 'starting' && !slot.listening) {
      logger.error(how, 'a worker failed to start; stopping the others');
      code = how.code || 1;
      return stop();
    }
    slot.youngDeaths = Date.now() - slot.startedAt < STABLE_MS ? slot.youngDeaths + 1 : 1;
    const restartInMs = restartDelay(slot.youngDeaths);
    logger.warn({ ...how, restartInMs }, 'worker died; restarting it');
    slot.restart = setTimeout(() => start(slot), restartInMs);
  };

  const stop = (): void => {
    phase = 'stopping';
    for (const slot of slots) clearTimeout(slot.restart);
    for (const worker of live()) worker.process.kill('SIGTERM');
    deadline = setTimeout(() => {
      logger.error({ workers: pids(), graceMs, marginMs: DRAIN_MARGIN_MS }, 'workers still running: killed');
      code ||= 1;
      for (const worker of live()) worker.process.kill('SIGKILL');
    }, graceMs + DRAIN_MARGIN_MS);
    if (live().length === 0) done();
  };

  slots.forEach(start);
  return {
    exited,
    drain(signal) {
      if (phase === 'stopping') {
        logger.warn({ signal }, 'already draining: the grace period still applies (SIGKILL stops at once)');
        return;
      }
      logger.info({ signal, graceMs, workers: pids() }, 'draining');
      stop();
    },
  };
}
