/**
 * The composition root, the one place parts are built and handed to each other: configuration → logger →
 * contract → domain (its events on the feed) → the tool pipeline → the instance bus (with Redis) → credentials
 * (tokens, cookies, sign-outs, OAuth) → rate limits and stream caps → MCP → the handlers and router → the Koa app →
 * the listener. `main.ts` and the
 * tests both start the server through here, so the tests exercise what `npm start` runs.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { operations } from '../generated/operations.gen.js';
import { createChangeService } from './changes/index.js';
import type { ChangeService } from './changes/types.js';
import { readConfig, type Config, type OAuthConfig } from './config/index.js';
import { loadContract } from './contract/index.js';
import { withEmbeddedDefaults, type Runtime } from './embedded-defaults.js';
import { chooseFeed } from './events/choose-feed.js';
import { createApp } from './http/app.js';
import { createIdentify, createSessionVerifier } from './http/auth.js';
import { createClientErrorListener } from './http/client-error.js';
import { corsAllowlist } from './http/cors.js';
import { drainGate } from './http/drain-gate.js';
import { errorResponder } from './http/error-responder.js';
import { httpMetrics } from './http/http-metrics.js';
import { httpTracing } from './http/http-tracing.js';
import type { Handlers } from './http/handler.js';
import type { OAuthBearer } from './http/oauth-bearer.js';
import { originCheck } from './http/origin-check.js';
import { createRateLimiter } from './http/rate-limit.js';
import { LOG_SERIALIZERS, requestLog } from './http/request-log.js';
import { createRouter } from './http/router.js';
import { eventsHandlers } from './http/routes/events.js';
import { invokeHandlers } from './http/routes/invoke.js';
import { mcpHandlers, mcpHostGate } from './http/routes/mcp.js';
import { opsHandlers, readinessOf, type ReadinessCheck } from './http/routes/ops.js';
import { protectedResourceHandlers } from './http/routes/protected-resource.js';
import { sessionHandlers } from './http/routes/session.js';
import { createSessionCookies } from './http/session-cookie.js';
import { createSessionRevocations } from './http/session-revocations.js';
import { createSessionStreams } from './http/session-streams.js';
import { createSharedBudget } from './http/shared-budget.js';
import { createLocalBudget, createStreamCaps, type Cap } from './http/stream-caps.js';
import { createTokenStore } from './http/tokens.js';
import { createLifecycle, type Lifecycle } from './lifecycle.js';
import type { Mcp } from './mcp/index.js';
import { createRedisSessionDirectory } from './mcp/redis-sessions.js';
import { createMetrics, metricsOff, reportToPrimary, serveMetrics } from './metrics/index.js';
import { readVersion } from './package-root.js';
import { listen, type Listening } from './http/server.js';
import { domainProbe } from './telemetry.js';
import { connectPubSub } from './redis-pubsub.js';
import { createToolPipeline } from './tools/pipeline.js';
import { loadTracing } from './tracing/load.js';

export interface TaskMcpOptions {
  /** Where log lines go; stdout when unset. */
  logDestination?: DestinationStream;
  /**
   * Wraps the domain service before anything uses it: the one seam for tests that must make the domain fail in
   * ways a real repository cannot be made to (an unexpected error, to prove it reaches no client).
   */
  decorateService?: (service: ChangeService) => ChangeService;
  /**
   * A worker of a cluster (`WORKERS` > 1): its metrics go to the primary, which serves the one `/metrics` for all
   * workers (src/cluster.ts), so the worker opens no metrics listener of its own.
   */
  metricsToPrimary?: boolean;
}

export interface TaskMcp extends Listening {
  runtime: Runtime;
  logger: Logger;
  lifecycle: Lifecycle;
  /** Where `GET /metrics` is served (its own listener, with the port really bound); undefined without `METRICS_PORT`. */
  metricsUrl: string | undefined;
}

/**
 * Secrets never reach a log line, whoever logs what: pino removes these paths from every record, and any `req` or
 * `res` logged is reduced to its method and path or its status (`LOG_SERIALIZERS`), so theirs need no redaction
 * pass (one on every request line was a tenth of the cost of a small request). Static paths only: wildcard paths
 * (`*.headers`) made pino walk every field of every line.
 */
const REDACT = ['authorization', 'cookie', 'token', 'headers', 'err.headers'];

/** Probes: never rate limited, and still answered during a drain. */
const PROBES = [operations.getHealth.path, operations.getReadiness.path];

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
  { logDestination, decorateService, metricsToPrimary = false }: TaskMcpOptions = {},
): Promise<TaskMcp> {
  const runtime = await withEmbeddedDefaults(readConfig(env));
  const { config } = runtime;
  const version = readVersion();
  // Loaded before the logger, whose lines then carry the current span's ids (exports fail only later, logged).
  const tracing = await loadTracing(config.tracing, {
    version,
    onExportChange: (failed, err) =>
      failed
        ? logger.warn({ err }, 'exporting traces failed; spans are dropped until the collector answers')
        : logger.info('exporting traces works again'),
  });
  const logger = pino(
    {
      level: config.logLevel,
      base: { service: 'task-mcp', pid: process.pid },
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: LOG_SERIALIZERS,
      ...(tracing && { mixin: () => tracing.logFields() }),
    },
    logDestination,
  );
  const lifecycle = createLifecycle();
  const contract = loadContract();
  // Recorded only where they can be scraped (`METRICS_PORT`): metrics nobody can read cost nothing.
  const metrics = config.metrics
    ? createMetrics({
        callerLabels: config.metrics.callerLabels,
        maxStreams: config.maxStreams,
        defaultCollectors: true,
      })
    : metricsOff();
  const events = chooseFeed({
    redisUrl: config.redisUrl,
    ringSize: config.eventRingSize,
    logger,
    onDelivered: (delivery) => metrics.eventDelivered(delivery),
  });
  const probe = domainProbe(metrics, tracing);
  const domain = createChangeService({ repoRoot: config.repoRoot, events: events.feed, version, probe });
  await recover(domain, logger);
  const service = decorateService ? decorateService(domain) : domain;
  const callTimeoutMs = config.requestTimeoutMs;
  const pipeline = createToolPipeline({ service, contract, lifecycle, callTimeoutMs, metrics, tracing });
  const streams = {
    heartbeatMs: config.heartbeatMs,
    maxBufferedBytes: config.streamMaxBufferedBytes,
    probes: metrics.streamProbe,
  };

  const streamCap = { perClient: config.maxStreamsPerClient, total: config.maxStreams };
  const shared = shareAcrossInstances(config.redisUrl, streamCap, logger);
  const credentials = await buildCredentials(config, logger);
  lifecycle.onDrain(() => credentials.revocations.close());
  const limiter = createRateLimiter({
    burst: config.rateLimitBurst,
    sustained: config.rateLimitSustained,
    redisUrl: config.redisUrl,
    identify: credentials.identify,
    logger,
    exempt: PROBES,
    onRefusal: (window, caller) => metrics.rateLimited({ window, caller }),
  });
  lifecycle.onDrain(() => limiter.close());
  const caps = createStreamCaps(
    {
      streams: streamCap,
      calls: { perClient: config.maxCallsPerClient, total: config.maxCalls },
      onRefused: (refusal) => metrics.capRefused(refusal),
    },
    { streams: shared?.streams },
  );
  const sessionStreams = createSessionStreams({ bus: shared?.bus, logger });

  // The MCP SDK is the largest part of the server to load (a third of a start): MCP is built on its first request.
  let mcpLoaded: Promise<Mcp> | undefined;
  const mcp = (): Promise<Mcp> =>
    (mcpLoaded ??= import('./mcp/index.js').then(({ createMcp }) =>
      createMcp({
        pipeline,
        resources: service,
        contract,
        version,
        ...streams,
        feed: events.feed,
        maxStreams: config.maxStreams,
        sessions: shared?.sessions,
        bindHost: config.host,
        toolNames: config.mcpToolNames,
        logger,
        observe: { metrics, tracing },
      }),
    ));
  // HTTP+SSE sessions and /mcp exchanges may carry a call's reply: end them once no call is left.
  lifecycle.onDrain(() => {
    const closing = lifecycle.idle().then(async () => (await mcpLoaded)?.close());
    closing.catch((err: unknown) => logger.warn({ err }, 'closing the MCP transports failed'));
  });

  const checks: Record<string, ReadinessCheck> = {
    repo: () => service.check().then(() => 'ok'),
    writable: () => service.checkWritable().then(() => 'ok'),
    ...limiter.checks,
    ...credentials.revocations.checks,
    ...credentials.oauth?.checks,
    ...events.checks,
    ...shared?.streams.checks,
  };
  metrics.watchReadiness(() => readinessOf(checks, lifecycle));

  const handlers: Handlers = {
    ...opsHandlers({ contract, lifecycle, checks }),
    ...invokeHandlers({ pipeline, ...streams }),
    ...eventsHandlers({ feed: events.feed, lifecycle, ...streams }),
    ...sessionHandlers({ ...credentials, streams: sessionStreams }),
    ...protectedResourceHandlers(credentials.oauth?.resource),
    ...mcpHandlers({ mcp }),
  };
  const hostGate = mcpHostGate(mcp);
  const router = createRouter({
    contract,
    handlers,
    identify: credentials.identify,
    isRevoked: credentials.revocations.isRevoked,
    maxBodyBytes: config.maxBodyBytes,
    guards: (id) => [hostGate(id), caps.gate(id), sessionStreams.gate(id)].filter((gate) => gate !== undefined),
  });

  const app = createApp({
    trustProxy: config.trustProxy,
    logger,
    requestLog: requestLog(logger),
    httpMetrics: config.metrics && httpMetrics(metrics),
    httpTracing: tracing && httpTracing(tracing),
    cors: corsAllowlist(config.corsOrigins),
    errorResponder: errorResponder(credentials.oauth?.challenge),
    drainGate: drainGate(lifecycle, [...PROBES, operations.getEvents.path]),
    originCheck: originCheck(config.corsOrigins),
    oauth: credentials.oauth,
    rateLimit: limiter.middleware,
    router,
  });
  // A worker answers the primary's scrapes only when there are metrics to serve.
  if (metricsToPrimary && config.metrics) reportToPrimary(metrics.registry);
  const scrape = metricsToPrimary ? undefined : await serveMetrics(config.metrics, metrics.expose, logger);
  const listening = await listen(app, {
    host: config.host,
    port: config.port,
    tls: runtime.tls,
    lifecycle,
    log: logger,
    receiveTimeoutMs: config.receiveTimeoutMs,
    onClientError: createClientErrorListener(config.receiveTimeoutMs, logger),
  }).catch(async (err: unknown) => {
    await scrape?.stop();
    throw err;
  });
  logger.info({ url: listening.url, tls: runtime.tls !== undefined, version }, 'listening');
  // The feed and the domain's OpenSpec process close after the server: a call still running during the drain may
  // emit or archive. What the instances share closes once the streams it served have ended. The metrics listener
  // closes last, so a scrape during the drain still sees readiness fail.
  const stop = (graceMs: number): Promise<void> =>
    listening
      .stop(graceMs)
      .finally(events.close)
      .finally(domain.close)
      .finally(() => tracing?.shutdown())
      .finally(async () => {
        sessionStreams.close();
        await shared?.close();
      })
      .finally(() => scrape?.stop());
  return { ...listening, stop, runtime, logger, lifecycle, metricsUrl: scrape?.url };
}

/**
 * What the instances on one `REDIS_URL` share besides the feed, the rate limits and the sign-outs: the instance bus
 * (sign-outs told to every instance, HTTP+SSE messages relayed to their session's instance), one budget of streams
 * (calls stay per instance: they hold its own work) and the registry of HTTP+SSE sessions. None without Redis.
 */
function shareAcrossInstances(redisUrl: string | undefined, streamCap: Cap, logger: Logger) {
  if (redisUrl === undefined) return undefined;
  const bus = connectPubSub(redisUrl, logger);
  const local = createLocalBudget(streamCap);
  const streams = createSharedBudget({ local, cap: streamCap, redisUrl, instanceId: bus.instanceId, logger });
  const sessions = createRedisSessionDirectory({ url: redisUrl, bus, logger });
  return {
    bus,
    streams,
    sessions,
    async close(): Promise<void> {
      sessions.close();
      await streams.close();
      bus.close();
    },
  };
}

/** Who a request is: static tokens, signed session cookies and their sign-outs, and OAuth tokens when configured. */
async function buildCredentials(config: Config, logger: Logger) {
  const tokens = createTokenStore(config.tokens);
  const cookies = createSessionCookies({
    secret: config.cookieSecret,
    ttlSeconds: config.sessionTtlSeconds,
    crossSite: config.corsOrigins.length > 0,
  });
  const oauth = config.oauth && (await oauthBearer(config.oauth, tokens));
  return {
    cookies,
    identify: createIdentify(tokens, createSessionVerifier(cookies, tokens, oauth?.knows)),
    revocations: createSessionRevocations({ redisUrl: config.redisUrl, logger }),
    oauth,
  };
}

/** The OAuth verifier, loaded only when OAuth is configured (it brings a JOSE library a token-only server skips). */
async function oauthBearer(settings: OAuthConfig, tokens: ReturnType<typeof createTokenStore>): Promise<OAuthBearer> {
  const { createOAuthBearer } = await import('./http/oauth-bearer.js');
  return createOAuthBearer(settings, tokens);
}
