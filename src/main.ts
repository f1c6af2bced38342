/**
 * `npm start`: serves until SIGTERM or SIGINT, then drains (waiting for the tool calls in flight, up to
 * SHUTDOWN_GRACE_MS) and exits 0. Further signals during the drain are logged and otherwise ignored. With
 * `WORKERS` > 1 this process is the cluster's primary (src/cluster.ts) and each worker runs `serve` below.
 */
import cluster from 'node:cluster';
import { pino, type DestinationStream } from 'pino';
import { runPrimary, tellPrimaryListening } from './cluster.js';
import { ConfigError, readConfig } from './config/index.js';
import { startTaskMcp } from './compose.js';

const print = (line: string): void => void process.stderr.write(`task-mcp: ${line}\n`);

async function main(): Promise<void> {
  // Synchronous writes: with pino's default asynchronous stdout, a line still being written when `process.exit`
  // flushes the rest lands after them, so `stopped` would not be the last line.
  const logDestination = pino.destination({ dest: process.stdout.fd, sync: true });
  if (cluster.isPrimary) {
    const config = readConfig(process.env);
    if (config.workers > 1) process.exit(await runPrimary(config, { logDestination, print }));
  }
  await serve(logDestination);
}

async function serve(logDestination: DestinationStream): Promise<void> {
  const server = await startTaskMcp(process.env, { logDestination, metricsToPrimary: cluster.isWorker });
  for (const notice of server.runtime.notices) print(notice);
  if (cluster.isWorker) tellPrimaryListening(server.url);
  else print(`listening on ${server.url}`);

  const shutdown = (signal: NodeJS.Signals): void => {
    // A second signal must not cut the calls the first one is waiting for: SIGKILL is how to skip the grace.
    if (server.lifecycle.draining) {
      server.logger.warn({ signal }, 'already draining: the grace period still applies (SIGKILL stops at once)');
      return;
    }
    const { shutdownGraceMs } = server.runtime.config;
    server.logger.info(
      {
        signal,
        graceMs: shutdownGraceMs,
        inFlight: server.lifecycle.inFlight().map(({ tool, reqId, caller }) => ({ tool, reqId, caller })),
      },
      'draining',
    );
    server.stop(shutdownGraceMs).then(
      () => {
        // Written before it returns, and the exit follows in the same tick: nothing can log after this line.
        server.logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        server.logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  // A worker drains on its primary's SIGTERM. Ctrl-C in a terminal signals the whole process group, primary
  // included, and the primary passes it on: the worker's own SIGINT is not a second, separate stop.
  process.on('SIGINT', cluster.isWorker ? () => undefined : shutdown);
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : err instanceof Error ? err.stack : String(err);
  print(`cannot start: ${message}`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
