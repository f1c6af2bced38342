/**
 * Configuration: read from the environment here and nowhere else, checked at start. `SETTINGS` is the one table
 * of variables; the README's configuration table is checked against it by a test.
 */
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { isActorName } from './changes/owner.js';
import { MAX_TOKEN_LENGTH, MIN_TOKEN_LENGTH, tokenFault } from './http/bearer-token.js';
import { type OAuthConfig, type SettingReader, readOAuthConfig, readPublicUrl } from './auth/oauth-config.js';

export interface Token {
  name: string;
  token: string;
}

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
  logLevel: string;
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
  /** Server processes behind the one port (node:cluster workers); 1 is a single process, no cluster. */
  workers: number;
  /** The operator's explicit yes to several workers without the Redis they would share (each then alone). */
  workersWithoutRedis: boolean;
  /** The canonical public origin (`PUBLIC_URL`): what OAuth clients and tokens call this server. */
  publicUrl: string | undefined;
  /** Unset: only the static tokens. Set (`OAUTH_ISSUER`): OAuth access tokens from these issuers too. */
  oauth: OAuthConfig | undefined;
  /** Unset (no `METRICS_PORT`): metrics are not served. */
  metrics: MetricsConfig | undefined;
}

/** The separate `/metrics` listener. */
export interface MetricsConfig {
  host: string;
  port: number;
  /** A bearer token every scrape must present; unset: none. */
  token: string | undefined;
  /** Label refusals and tool calls with the caller's name (`METRICS_CALLER_LABELS=1`). */
  callerLabels: boolean;
}

/** `max` requests per `durationMs`, from a setting like `20/1s`. */
export interface RateWindow {
  max: number;
  durationMs: number;
}

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

interface Setting {
  name: string;
  default: string;
  description: string;
}

/** Every variable the server reads, its default and meaning: the source of the README table. */
export const SETTINGS: readonly Setting[] = [
  { name: 'HOST', default: '127.0.0.1', description: 'Address to bind.' },
  { name: 'PORT', default: '8443', description: 'Port to bind (0 picks a free one).' },
  { name: 'TLS_CERT', default: '', description: 'PEM certificate (chain) path; set with `TLS_KEY`.' },
  { name: 'TLS_KEY', default: '', description: 'PEM private key path; set with `TLS_CERT`.' },
  { name: 'TLS', default: '', description: '`off`: plain HTTP, for use behind a TLS-terminating proxy.' },
  {
    name: 'TASK_MCP_TOKENS',
    default: '',
    description: 'Comma-separated `name:token` pairs (tokens of 16–512 visible ASCII characters).',
  },
  { name: 'REPO_ROOT', default: '', description: 'The git work tree to serve.' },
  {
    name: 'CORS_ORIGINS',
    default: '',
    description: 'Comma-separated origins whose pages may call the server; other browser origins get 403.',
  },
  { name: 'HEARTBEAT_MS', default: '25000', description: 'Interval of stream heartbeats, in ms (50–300000).' },
  {
    name: 'TRUST_PROXY',
    default: '0',
    description: 'Proxies in front that append `X-Forwarded-For`: a count, or `true` for 1.',
  },
  { name: 'LOG_LEVEL', default: 'info', description: 'pino level: `fatal` … `trace`, or `silent`.' },
  { name: 'SHUTDOWN_GRACE_MS', default: '10000', description: 'How long in-flight calls may finish after SIGTERM.' },
  {
    name: 'MCP_TOOL_NAMES',
    default: 'safe',
    description: '`safe` advertises `change_open`; `dotted` advertises `change.open`.',
  },
  {
    name: 'COOKIE_SECRET',
    default: '',
    description: 'HMAC secret of session cookies (≥ 32 chars); random per process when unset.',
  },
  {
    name: 'SESSION_TTL_SECONDS',
    default: '28800',
    description: 'Lifetime of a `task_mcp_session` cookie (60–604800).',
  },
  { name: 'MAX_BODY_BYTES', default: '1048576', description: 'Largest request body accepted.' },
  {
    name: 'RECEIVE_TIMEOUT_MS',
    default: '30000',
    description:
      'How long a client may take to send a whole request (headers and body), in ms (100–600000); past it, 408 ' +
      '`ERECEIVE_TIMEOUT` and the connection is closed. Responses (streams) are not bounded by it.',
  },
  { name: 'EVENT_RING_SIZE', default: '1000', description: 'Change events kept for `Last-Event-ID` replay.' },
  {
    name: 'STREAM_MAX_BUFFERED_BYTES',
    default: '1048576',
    description: 'Unsent bytes after which a slow stream reader is cut off.',
  },
  {
    name: 'RATE_LIMIT_BURST',
    default: '50/1s',
    description: 'Requests per client (IP and token name) in a short window: `count/duration` (`ms`, `s`, `m`, `h`).',
  },
  {
    name: 'RATE_LIMIT_SUSTAINED',
    default: '1200/60s',
    description: 'Requests per client in a long window, stacked on the burst one; same form.',
  },
  {
    name: 'REDIS_URL',
    default: '',
    description:
      '`redis://…`: rate limits, the change feed and sign-outs shared by every instance; see the runbook for Redis down.',
  },
  {
    name: 'MAX_STREAMS_PER_CLIENT',
    default: '10',
    description: 'Long-lived streams (`GET /v1/events`, `GET /sse`) one client may hold open.',
  },
  { name: 'MAX_STREAMS', default: '1000', description: 'Long-lived streams the instance holds open.' },
  {
    name: 'MAX_CALLS_PER_CLIENT',
    default: '20',
    description: 'Calls one client may have in flight: tool invokes (any framing) and `POST /mcp` exchanges.',
  },
  { name: 'MAX_CALLS', default: '200', description: 'Calls the instance has in flight.' },
  {
    name: 'REQUEST_TIMEOUT_MS',
    default: '30000',
    description:
      'A tool call answering later (a JSON invoke, or over MCP) gets `ETIMEOUT`; the call itself still completes.',
  },
  {
    name: 'TASK_MCP_STATE_DIR',
    default: '.task-mcp',
    description: 'Where the embedded default keeps its certificate and demo repo.',
  },
  {
    name: 'WORKERS',
    default: '1',
    description:
      'Server processes behind the one port (node:cluster workers, restarted when one dies): a count (1–256) or ' +
      '`auto`, one per CPU. More than 1 needs `REDIS_URL`; see docs/scale_out.md.',
  },
  {
    name: 'WORKERS_WITHOUT_REDIS',
    default: '0',
    description:
      '`1`: run `WORKERS` > 1 without `REDIS_URL` anyway; each worker then has its own feed, rate limits and sign-outs.',
  },
  { name: 'PUBLIC_URL', default: '', description: 'Public origin (`https://tasks.example.com`): the OAuth resource.' },
  { name: 'OAUTH_ISSUER', default: '', description: 'Comma-separated issuers whose OAuth access tokens are accepted.' },
  {
    name: 'OAUTH_AUDIENCE',
    default: '',
    description: 'Comma-separated `aud` values accepted; default `PUBLIC_URL`, `PUBLIC_URL/mcp`, `PUBLIC_URL/sse`.',
  },
  { name: 'OAUTH_INTROSPECTION_URL', default: '', description: 'RFC 7662 endpoint for opaque (non-JWT) tokens.' },
  { name: 'OAUTH_INTROSPECTION_CLIENT_ID', default: '', description: 'This server’s client id at that endpoint.' },
  { name: 'OAUTH_INTROSPECTION_CLIENT_SECRET', default: '', description: 'Its client secret (HTTP Basic).' },
  {
    name: 'OAUTH_INTROSPECTION_CACHE_SECONDS',
    default: '60',
    description: 'Longest reuse of an introspection answer (0–3600), never past the token’s expiry.',
  },
  { name: 'OAUTH_CLOCK_SKEW_SECONDS', default: '30', description: 'Leeway on a token’s `exp` and `nbf` (0–300).' },
  {
    name: 'OAUTH_FETCH_TIMEOUT_MS',
    default: '5000',
    description: 'Longest wait for an issuer’s metadata, keys or introspection answer (100–60000).',
  },
  {
    name: 'OAUTH_JWKS_COOLDOWN_MS',
    default: '30000',
    description: 'Least time between two fetches of an issuer’s keys for an unknown `kid` (0–3600000).',
  },
  {
    name: 'METRICS_PORT',
    default: '',
    description: 'Port of the separate `GET /metrics` listener (Prometheus text); unset: none. 0 picks a free one.',
  },
  {
    name: 'METRICS_HOST',
    default: '127.0.0.1',
    description: 'Address of the metrics listener: keep it off the interface the API faces the world on.',
  },
  {
    name: 'METRICS_TOKEN',
    default: '',
    description: 'Bearer token a scrape must send (16–512 visible ASCII characters); unset: none asked.',
  },
  {
    name: 'METRICS_CALLER_LABELS',
    default: '0',
    description: '`1`: refusals and tool calls are labelled with the caller’s name (at most 100 distinct).',
  },
  { name: 'NODE_ENV', default: '', description: '`production` requires tokens (or `OAUTH_ISSUER`), a repo and TLS.' },
];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and checks the configuration; a bad value throws a ConfigError naming the variable. */
export function readConfig(env: Env = process.env): Config {
  const get = (name: string): string => {
    const value = env[name]?.trim();
    return value ? value : (SETTINGS.find((s) => s.name === name)?.default ?? '');
  };
  const config: Config = {
    production: get('NODE_ENV') === 'production',
    host: readHost('HOST', get('HOST')),
    port: readInt('PORT', get('PORT'), 0, 65535),
    tls: readTls(get('TLS'), get('TLS_CERT'), get('TLS_KEY')),
    tokens: readTokens(get('TASK_MCP_TOKENS')),
    repoRoot: get('REPO_ROOT') || undefined,
    corsOrigins: readOrigins(get('CORS_ORIGINS')),
    heartbeatMs: readInt('HEARTBEAT_MS', get('HEARTBEAT_MS'), 50, 300_000),
    trustProxy: get('TRUST_PROXY') === 'true' ? 1 : readInt('TRUST_PROXY', get('TRUST_PROXY'), 0, 10),
    logLevel: oneOf('LOG_LEVEL', get('LOG_LEVEL'), LOG_LEVELS),
    shutdownGraceMs: readInt('SHUTDOWN_GRACE_MS', get('SHUTDOWN_GRACE_MS'), 0, 600_000),
    mcpToolNames: oneOf('MCP_TOOL_NAMES', get('MCP_TOOL_NAMES'), ['safe', 'dotted'] as const),
    cookieSecret: readSecret(get('COOKIE_SECRET')),
    sessionTtlSeconds: readInt('SESSION_TTL_SECONDS', get('SESSION_TTL_SECONDS'), 60, 604_800),
    maxBodyBytes: readInt('MAX_BODY_BYTES', get('MAX_BODY_BYTES'), 1024, 64 * 1024 * 1024),
    receiveTimeoutMs: readInt('RECEIVE_TIMEOUT_MS', get('RECEIVE_TIMEOUT_MS'), 100, 600_000),
    eventRingSize: readInt('EVENT_RING_SIZE', get('EVENT_RING_SIZE'), 1, 1_000_000),
    streamMaxBufferedBytes: readInt('STREAM_MAX_BUFFERED_BYTES', get('STREAM_MAX_BUFFERED_BYTES'), 16 * 1024, 1 << 30),
    rateLimitBurst: readWindow('RATE_LIMIT_BURST', get('RATE_LIMIT_BURST')),
    rateLimitSustained: readWindow('RATE_LIMIT_SUSTAINED', get('RATE_LIMIT_SUSTAINED')),
    redisUrl: readRedisUrl(get('REDIS_URL')),
    maxStreamsPerClient: readInt('MAX_STREAMS_PER_CLIENT', get('MAX_STREAMS_PER_CLIENT'), 1, 100_000),
    maxStreams: readInt('MAX_STREAMS', get('MAX_STREAMS'), 1, 1_000_000),
    maxCallsPerClient: readInt('MAX_CALLS_PER_CLIENT', get('MAX_CALLS_PER_CLIENT'), 1, 100_000),
    maxCalls: readInt('MAX_CALLS', get('MAX_CALLS'), 1, 1_000_000),
    requestTimeoutMs: readInt('REQUEST_TIMEOUT_MS', get('REQUEST_TIMEOUT_MS'), 1, 600_000),
    stateDir: get('TASK_MCP_STATE_DIR'),
    workers: get('WORKERS') === 'auto' ? availableParallelism() : readInt('WORKERS', get('WORKERS'), 1, 256),
    workersWithoutRedis: oneOf('WORKERS_WITHOUT_REDIS', get('WORKERS_WITHOUT_REDIS'), ['0', '1']) === '1',
    ...readOAuthSettings(get),
    metrics: readMetrics(get),
  };
  if (config.production) requireProductionSettings(config);
  requireSharedWorkers(config);
  return config;
}

function readOAuthSettings(get: (name: string) => string): Pick<Config, 'publicUrl' | 'oauth'> {
  const reader: SettingReader = {
    text: get,
    int: (name, min, max) => readInt(name, get(name), min, max),
    fail: (message) => {
      throw new ConfigError(message);
    },
  };
  const publicUrl = readPublicUrl(reader);
  return { publicUrl, oauth: readOAuthConfig(reader, publicUrl) };
}

function readInt(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if (!allowed.includes(raw as T)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

function readHost(name: string, raw: string): string {
  if (isIP(raw) === 0 && !/^[a-z0-9.-]+$/i.test(raw)) throw new ConfigError(`${name} must be an address or host name`);
  return raw;
}

/** Every metrics setting is checked, even with no `METRICS_PORT`: a bad value is a mistake either way. */
function readMetrics(get: (name: string) => string): MetricsConfig | undefined {
  const host = readHost('METRICS_HOST', get('METRICS_HOST'));
  const token = get('METRICS_TOKEN') || undefined;
  const fault = token === undefined ? undefined : tokenFault(token);
  if (fault !== undefined) {
    throw new ConfigError(
      `METRICS_TOKEN needs ${MIN_TOKEN_LENGTH}–${MAX_TOKEN_LENGTH} visible ASCII characters; it ${fault}`,
    );
  }
  const callerLabels = oneOf('METRICS_CALLER_LABELS', get('METRICS_CALLER_LABELS'), ['0', '1'] as const) === '1';
  const port = get('METRICS_PORT');
  return port ? { host, port: readInt('METRICS_PORT', port, 0, 65535), token, callerLabels } : undefined;
}

function readTls(mode: string, certPath: string, keyPath: string): TlsConfig {
  if (mode !== '' && mode !== 'off') throw new ConfigError(`TLS must be "off" or unset, got "${mode}"`);
  if (mode === 'off') {
    if (certPath || keyPath) throw new ConfigError('TLS=off conflicts with TLS_CERT/TLS_KEY: set one or the other');
    return { mode: 'off' };
  }
  if (Boolean(certPath) !== Boolean(keyPath)) throw new ConfigError('TLS_CERT and TLS_KEY must be set together');
  return certPath ? { mode: 'files', certPath, keyPath } : { mode: 'dev' };
}

function readTokens(raw: string): Token[] {
  if (!raw) return [];
  const tokens = raw.split(',').map((pair, index) => {
    const at = pair.indexOf(':');
    const name = pair.slice(0, at).trim();
    const token = pair.slice(at + 1).trim();
    // The message names the pair's position and name, never its token: that is a secret.
    const position = index + 1;
    // A token's name is the caller's name: the receipts' actor and the root of its lock owners' namespace.
    if (at < 1 || !isActorName(name)) {
      throw new ConfigError(
        `TASK_MCP_TOKENS entry ${position} must be name:token with a name of 1–64 characters [A-Za-z0-9._@-]`,
      );
    }
    const fault = tokenFault(token);
    if (fault !== undefined) {
      throw new ConfigError(
        `TASK_MCP_TOKENS entry ${position} (${name}) needs a token of ${MIN_TOKEN_LENGTH}–${MAX_TOKEN_LENGTH} ` +
          `visible ASCII characters; its token ${fault}`,
      );
    }
    return { name, token };
  });
  const names = tokens.map((t) => t.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new ConfigError(`TASK_MCP_TOKENS names ${duplicate} twice`);
  return tokens;
}

function readOrigins(raw: string): string[] {
  if (!raw) return [];
  return raw.split(',').map((entry) => {
    const origin = entry.trim();
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError(`CORS_ORIGINS entry "${origin}" is not an origin like https://app.example.com`);
    }
    if (parsed.origin !== origin) {
      throw new ConfigError(
        `CORS_ORIGINS entry "${origin}" must be a bare origin (scheme://host[:port]): ${parsed.origin}`,
      );
    }
    return origin;
  });
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function readWindow(name: string, raw: string): RateWindow {
  const match = /^(\d{1,9})\/(\d{1,9})(ms|s|m|h)$/.exec(raw);
  const max = Number(match?.[1]);
  const durationMs = Number(match?.[2]) * UNIT_MS[match?.[3] ?? 's']!;
  if (!match || max < 1 || durationMs < 1 || durationMs > 86_400_000) {
    throw new ConfigError(`${name} must be count/duration like 20/1s or 300/60s (up to 24h), got "${raw}"`);
  }
  return { max, durationMs };
}

function readRedisUrl(raw: string): string | undefined {
  if (!raw) return undefined;
  // The message leaves the value out: a Redis URL may hold a password.
  if (!/^rediss?:\/\/[^\s]+$/.test(raw)) throw new ConfigError('REDIS_URL must be a redis:// or rediss:// URL');
  return raw;
}

function readSecret(raw: string): string | undefined {
  if (!raw) return undefined;
  if (raw.length < 32) throw new ConfigError('COOKIE_SECRET must be at least 32 characters');
  return raw;
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
