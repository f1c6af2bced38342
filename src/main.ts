/**
 * `npm start`: serves until SIGTERM or SIGINT, then drains and exits 0.
 */
import { ConfigError } from './config.js';
import { startTaskMcp } from './compose.js';

async function main(): Promise<void> {
  const server = await startTaskMcp(process.env);
  for (const notice of server.runtime.notices) process.stderr.write(`task-mcp: ${notice}\n`);
  process.stderr.write(`task-mcp: listening on ${server.url}\n`);

  const shutdown = (signal: NodeJS.Signals): void => {
    const { shutdownGraceMs } = server.runtime.config;
    server.logger.info({ signal, graceMs: shutdownGraceMs }, 'draining');
    server.stop(shutdownGraceMs).then(
      () => {
        server.logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        server.logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : err instanceof Error ? err.stack : String(err);
  process.stderr.write(`task-mcp: cannot start: ${message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
