/**
 * The composition root: configuration in, a listening server out. `main.ts` and the tests both start the
 * server through here, so the tests exercise what `npm start` runs.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { createChangeService } from './changes/index.js';
import type { ChangeService } from './changes/types.js';
import { readConfig, type MetricsConfig } from './config.js';
import { loadContract } from './contract/index.js';
import { withEmbeddedDefaults, type Runtime } from './embedded-defaults.js';
import { chooseFeed } from './events/choose-feed.js';
import { createApp } from './http/app.js';
import { createClientErrors } from './http/client-error.js';
import { BODY_CHECKED_ELSEWHERE } from './http/router.js';
import { createLifecycle, type Lifecycle } from './lifecycle.js';
import { createMetrics, startMetricsListener, type Metrics, type MetricsListener } from './metrics/index.js';
import { readVersion } from './package-root.js';
import { listen, type Listening } from './server.js';

export interface TaskMcpOptions {
  /** Where log lines go; stdout when unset. */
  logDestination?: DestinationStream;
  /**
   * Wraps the domain service before anything uses it: the one seam for tests that must make the domain fail in
   * ways a real repository cannot be made to (an unexpected error, to prove it reaches no client).
   */
  decorateService?: (service: ChangeService) => ChangeService;
}

export interface TaskMcp extends Listening {
  runtime: Runtime;
  logger: Logger;
  lifecycle: Lifecycle;
  /** Where `GET /metrics` is served (its own listener, with the port really bound); undefined without `METRICS_PORT`. */
  metricsUrl: string | undefined;
}

/** Secrets never reach a log line, whoever logs what: pino removes these paths from every record. */
const REDACT = ['authorization', 'cookie', 'token', '*.authorization', '*.cookie', '*.token', '*.headers', 'headers'];

/**
 * Puts right what a crash left in the repository (an interrupted archive, a dead process's lock, temp files) before
 * serving. A failure is logged, not fatal: readiness reports a repository that cannot be served.
 */
async function recover(service: ChangeService, logger: Logger): Promise<void> {
  try {
    const recovery = await service.recover();
    if (recovery.archive !== 'none' || recovery.removed.length > 0) logger.info({ recovery }, 'recovered');
  } catch (err) {
    logger.warn({ err }, 'start-up recovery failed; every archive recovers first');
  }
}

/**
 * Reads the configuration from `env`, builds the app and listens.
 *
 * @example
 * const server = await startTaskMcp(process.env);
 * await server.stop(server.runtime.config.shutdownGraceMs);
 */
export async function startTaskMcp(
  env: Record<string, string | undefined>,
  { logDestination, decorateService }: TaskMcpOptions = {},
): Promise<TaskMcp> {
  const runtime = await withEmbeddedDefaults(readConfig(env));
  const { config } = runtime;
  const logger = pino(
    {
      level: config.logLevel,
      base: { service: 'task-mcp', pid: process.pid },
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    logDestination,
  );
  const lifecycle = createLifecycle();
  const contract = loadContract(BODY_CHECKED_ELSEWHERE);
  const version = readVersion();
  const { feed, checks, close } = chooseFeed({ redisUrl: config.redisUrl, ringSize: config.eventRingSize, logger });
  const domain = createChangeService({ repoRoot: config.repoRoot, events: feed, version });
  await recover(domain, logger);
  const service = decorateService ? decorateService(domain) : domain;
  const metrics = createMetrics({
    callerLabels: config.metrics?.callerLabels ?? false,
    maxStreams: config.maxStreams,
    defaultCollectors: config.metrics !== undefined,
  });
  const app = createApp(config, { contract, service, feed, checks, logger, lifecycle, version, metrics });
  const scrape = await serveMetrics(config.metrics, metrics, logger);
  const listening = await listen(app, {
    host: config.host,
    port: config.port,
    tls: runtime.tls,
    lifecycle,
    log: logger,
    receiveTimeoutMs: config.receiveTimeoutMs,
    clientErrors: createClientErrors(contract.errorMap, config.receiveTimeoutMs, logger),
  }).catch(async (err: unknown) => {
    await scrape?.stop();
    throw err;
  });
  logger.info({ url: listening.url, tls: runtime.tls !== undefined, version }, 'listening');
  // The feed closes after the server: a call still running during the drain may emit. The metrics listener
  // closes last, so a scrape during the drain still sees readiness fail.
  const stop = (graceMs: number): Promise<void> =>
    listening
      .stop(graceMs)
      .finally(close)
      .finally(() => scrape?.stop());
  return { ...listening, stop, runtime, logger, lifecycle, metricsUrl: scrape?.url };
}

/** The separate `/metrics` listener `METRICS_PORT` asks for, or none. */
async function serveMetrics(
  settings: MetricsConfig | undefined,
  metrics: Metrics,
  logger: Logger,
): Promise<MetricsListener | undefined> {
  if (!settings) return undefined;
  const { host, port, token } = settings;
  const onError = (err: unknown): void => logger.error({ err }, 'collecting metrics failed');
  const listener = await startMetricsListener({ host, port, token, expose: metrics.expose, onError });
  logger.info({ url: listener.url, tokenRequired: token !== undefined }, 'metrics listening');
  return listener;
}
