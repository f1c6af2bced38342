/**
 * `npm start`: serves until SIGTERM or SIGINT, then drains (waiting for the tool calls in flight, up to
 * SHUTDOWN_GRACE_MS) and exits 0. Further signals during the drain are logged and otherwise ignored.
 */
import { pino } from 'pino';
import { ConfigError } from './config/index.js';
import { startTaskMcp } from './compose.js';

async function main(): Promise<void> {
  // Synchronous writes: with pino's default asynchronous stdout, a line still being written when `process.exit`
  // flushes the rest lands after them, so `stopped` would not be the last line.
  const logDestination = pino.destination({ dest: process.stdout.fd, sync: true });
  const server = await startTaskMcp(process.env, { logDestination });
  for (const notice of server.runtime.notices) process.stderr.write(`task-mcp: ${notice}\n`);
  process.stderr.write(`task-mcp: listening on ${server.url}\n`);

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
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : err instanceof Error ? err.stack : String(err);
  process.stderr.write(`task-mcp: cannot start: ${message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
