/**
 * `npm start`: serves until SIGTERM or SIGINT, then drains (waiting for the tool calls in flight, up to
 * SHUTDOWN_GRACE_MS) and exits 0. Further signals during the drain are logged and otherwise ignored.
 */
import { ConfigError } from './config.js';
import { startTaskMcp } from './compose.js';

async function main(): Promise<void> {
  const server = await startTaskMcp(process.env);
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
        // Exits in the same tick, so nothing can log after this line (pino flushes what is queued on exit).
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
