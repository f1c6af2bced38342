/**
 * Configuration: read from the environment here and nowhere else, checked at start, by the one table of settings
 * (settings.ts). A bad value throws a ConfigError naming the variable and never quoting a secret.
 */
import { type OAuthConfig, readOAuthSettings } from './oauth.js';
import type { RateWindow, Token } from './kinds.js';
import { ConfigError } from './kinds.js';
import { readMetrics, readTracing, type MetricsConfig, type TracingConfig } from './observability.js';
import { readSettings, type SettingValue } from './settings.js';

export type TlsConfig =
  | { mode: 'files'; certPath: string; keyPath: string }
  | { mode: 'off' }
  /** The embedded default: a self-signed certificate generated into `stateDir` on first start. */
  | { mode: 'dev' };

export interface Config {
  production: boolean;
  host: string;
  port: number;
  tls: TlsConfig;
  /** Empty means the embedded default: one random token, printed at start. */
  tokens: Token[];
  /** Unset means the embedded default: a demo repository under `stateDir`. */
  repoRoot: string | undefined;
  corsOrigins: string[];
  heartbeatMs: number;
  /** How many proxies in front of us append to `X-Forwarded-For` (0: trust no header). */
  trustProxy: number;
  logLevel: SettingValue<'LOG_LEVEL'>;
  shutdownGraceMs: number;
  mcpToolNames: 'safe' | 'dotted';
  /** Unset means a random secret per process: sessions end on restart. */
  cookieSecret: string | undefined;
  sessionTtlSeconds: number;
  maxBodyBytes: number;
  /** How long receiving one request (headers and body) may take. */
  receiveTimeoutMs: number;
  eventRingSize: number;
  streamMaxBufferedBytes: number;
  /** The short window of the request rate limit. */
  rateLimitBurst: RateWindow;
  /** The long window of the request rate limit, stacked on the burst one. */
  rateLimitSustained: RateWindow;
  /** Unset: rate limits and the change feed in this process's memory; set: shared by every instance through Redis. */
  redisUrl: string | undefined;
  /** Long-lived streams one client (IP and token name) may hold. */
  maxStreamsPerClient: number;
  /** Long-lived streams the whole instance holds. */
  maxStreams: number;
  /** Calls (invokes, `/mcp` exchanges) one client may have in flight. */
  maxCallsPerClient: number;
  /** Calls the whole instance has in flight. */
  maxCalls: number;
  /** How long a non-streaming tool call may take before the caller gets ETIMEOUT. */
  requestTimeoutMs: number;
  /** Where the embedded default keeps its certificate and demo repository. */
  stateDir: string;
  /** The canonical public origin (`PUBLIC_URL`): what OAuth clients and tokens call this server. */
  publicUrl: string | undefined;
  /** Unset: only the static tokens. Set (`OAUTH_ISSUER`): OAuth access tokens from these issuers too. */
  oauth: OAuthConfig | undefined;
  /** Server processes behind the one port (node:cluster workers); 1 is a single process, no cluster. */
  workers: number;
  /** The operator's explicit yes to several workers without the Redis they would share (each then alone). */
  workersWithoutRedis: boolean;
  /** Unset (no `METRICS_PORT`): metrics are not served. */
  metrics: MetricsConfig | undefined;
  /** Unset (no OTLP endpoint, or turned off): no traces, and the OpenTelemetry SDK is never loaded. */
  tracing: TracingConfig | undefined;
}

/** Reads and checks the configuration; a bad value throws a ConfigError naming the variable. */
export function readConfig(env: Record<string, string | undefined> = process.env): Config {
  const read = readSettings(env);
  const value = read.value;
  const config: Config = {
    production: value('NODE_ENV') === 'production',
    host: value('HOST'),
    port: value('PORT'),
    tls: readTls(value('TLS'), value('TLS_CERT'), value('TLS_KEY')),
    tokens: value('TASK_MCP_TOKENS'),
    repoRoot: value('REPO_ROOT') || undefined,
    corsOrigins: value('CORS_ORIGINS'),
    heartbeatMs: value('HEARTBEAT_MS'),
    trustProxy: value('TRUST_PROXY'),
    logLevel: value('LOG_LEVEL'),
    shutdownGraceMs: value('SHUTDOWN_GRACE_MS'),
    mcpToolNames: value('MCP_TOOL_NAMES'),
    cookieSecret: value('COOKIE_SECRET'),
    sessionTtlSeconds: value('SESSION_TTL_SECONDS'),
    maxBodyBytes: value('MAX_BODY_BYTES'),
    receiveTimeoutMs: value('RECEIVE_TIMEOUT_MS'),
    eventRingSize: value('EVENT_RING_SIZE'),
    streamMaxBufferedBytes: value('STREAM_MAX_BUFFERED_BYTES'),
    rateLimitBurst: value('RATE_LIMIT_BURST'),
    rateLimitSustained: value('RATE_LIMIT_SUSTAINED'),
    redisUrl: value('REDIS_URL'),
    maxStreamsPerClient: value('MAX_STREAMS_PER_CLIENT'),
    maxStreams: value('MAX_STREAMS'),
    maxCallsPerClient: value('MAX_CALLS_PER_CLIENT'),
    maxCalls: value('MAX_CALLS'),
    requestTimeoutMs: value('REQUEST_TIMEOUT_MS'),
    stateDir: value('TASK_MCP_STATE_DIR'),
    ...readOAuthSettings(read),
    workers: value('WORKERS'),
    workersWithoutRedis: value('WORKERS_WITHOUT_REDIS'),
    metrics: readMetrics(read),
    tracing: readTracing(read),
  };
  if (config.production) requireProductionSettings(config);
  requireSharedWorkers(config);
  return config;
}

/** Workers without Redis would each keep their own events, limits and sign-outs: refused unless said explicitly. */
function requireSharedWorkers({ workers, redisUrl, workersWithoutRedis }: Config): void {
  if (workers > 1 && redisUrl === undefined && !workersWithoutRedis) {
    throw new ConfigError(
      `WORKERS=${workers} needs REDIS_URL: without it each worker keeps its own change feed, rate limits and ` +
        'sign-outs. Set REDIS_URL, or WORKERS_WITHOUT_REDIS=1 to run unshared workers anyway',
    );
  }
}

function readTls(mode: '' | 'off', certPath: string, keyPath: string): TlsConfig {
  if (mode === 'off') {
    if (certPath || keyPath) throw new ConfigError('TLS=off conflicts with TLS_CERT/TLS_KEY: set one or the other');
    return { mode: 'off' };
  }
  if (Boolean(certPath) !== Boolean(keyPath)) throw new ConfigError('TLS_CERT and TLS_KEY must be set together');
  return certPath ? { mode: 'files', certPath, keyPath } : { mode: 'dev' };
}

function requireProductionSettings(config: Config): void {
  const missing = [
    config.tokens.length === 0 && !config.oauth && 'TASK_MCP_TOKENS (or OAUTH_ISSUER)',
    !config.repoRoot && 'REPO_ROOT',
    config.tls.mode === 'dev' && 'TLS_CERT and TLS_KEY (or TLS=off)',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new ConfigError(`NODE_ENV=production needs ${missing.join(', ')}; the embedded defaults are for development`);
  }
}
