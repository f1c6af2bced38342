/**
 * Every variable the server reads: its kind (how it is parsed and checked, and its bounds), its default and what it
 * means. The one table: the reader parses by it and the README's configuration table is written from it
 * (`npm run generate`, scripts/generate-settings-table.ts; a test compares the two).
 */
import {
  ConfigError,
  type Kind,
  flag,
  hops,
  host,
  int,
  offOrUnset,
  oneOf,
  origins,
  processes,
  redisUrl,
  secret,
  text,
  tokens,
  window,
} from './kinds.js';
import { OBSERVABILITY_SETTINGS } from './observability-settings.js';

/** Shortest `COOKIE_SECRET`: HMAC-SHA256 gains nothing from more than its 32-byte block of entropy, less weakens it. */
export const MIN_COOKIE_SECRET_LENGTH = 32;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface Setting<T = unknown> {
  kind: Kind<T>;
  /** The text used when the variable is unset or blank. */
  default: string;
  /** What it means, without a final period; the README adds the kind's bounds and the period. */
  description: string;
}

export const SETTINGS = {
  HOST: { kind: host, default: '127.0.0.1', description: 'Address to bind' },
  PORT: { kind: int(0, 65535), default: '8443', description: 'Port to bind; 0 picks a free one' },
  TLS_CERT: { kind: text, default: '', description: 'PEM certificate (chain) path; set with `TLS_KEY`' },
  TLS_KEY: { kind: text, default: '', description: 'PEM private key path; set with `TLS_CERT`' },
  TLS: { kind: offOrUnset, default: '', description: '`off`: plain HTTP, for use behind a TLS-terminating proxy' },
  TASK_MCP_TOKENS: {
    kind: tokens,
    default: '',
    description:
      'Comma-separated `name:token` pairs; `name[changes:read]:token` gives that token only the scopes listed ' +
      '(space-separated), else it has all',
  },
  REPO_ROOT: { kind: text, default: '', description: 'The git work tree to serve' },
  CORS_ORIGINS: {
    kind: origins,
    default: '',
    description: 'Comma-separated origins whose pages may call the server; other browser origins get 403',
  },
  HEARTBEAT_MS: { kind: int(50, 300_000), default: '25000', description: 'Interval of stream heartbeats, in ms' },
  TRUST_PROXY: {
    kind: hops(10),
    default: '0',
    description: 'Proxies in front that append `X-Forwarded-For`: a count, or `true` for 1',
  },
  LOG_LEVEL: { kind: oneOf(LOG_LEVELS), default: 'info', description: 'pino level: `fatal` … `trace`, or `silent`' },
  SHUTDOWN_GRACE_MS: {
    kind: int(0, 600_000),
    default: '10000',
    description: 'How long in-flight calls may finish after SIGTERM, in ms',
  },
  MCP_TOOL_NAMES: {
    kind: oneOf(['safe', 'dotted'] as const),
    default: 'safe',
    description: '`safe` advertises `change_open`; `dotted` advertises `change.open`',
  },
  COOKIE_SECRET: {
    kind: secret(MIN_COOKIE_SECRET_LENGTH),
    default: '',
    description: 'HMAC secret of session cookies; random per process when unset',
  },
  SESSION_TTL_SECONDS: {
    kind: int(60, 604_800),
    default: '28800',
    description: 'Lifetime of a `task_mcp_session` cookie, in seconds',
  },
  MAX_BODY_BYTES: {
    kind: int(1024, 64 * 1024 * 1024),
    default: '1048576',
    description: 'Largest request body accepted',
  },
  RECEIVE_TIMEOUT_MS: {
    kind: int(100, 600_000),
    default: '30000',
    description:
      'How long, in ms, a client may take to send a whole request (headers and body) before a 408 ' +
      '`ERECEIVE_TIMEOUT` closes the connection; responses (streams) are not bounded by it',
  },
  EVENT_RING_SIZE: {
    kind: int(1, 1_000_000),
    default: '1000',
    description: 'Change events kept for `Last-Event-ID` replay',
  },
  STREAM_MAX_BUFFERED_BYTES: {
    kind: int(16 * 1024, 1 << 30),
    default: '1048576',
    description: 'Unsent bytes after which a slow stream reader is cut off',
  },
  RATE_LIMIT_BURST: {
    kind: window,
    default: '50/1s',
    description:
      'Requests per client (IP and token name) in a short window: `count/duration`, in `ms`, `s`, `m` or `h`',
  },
  RATE_LIMIT_SUSTAINED: {
    kind: window,
    default: '1200/60s',
    description: 'Requests per client in a long window, stacked on the burst one; same form',
  },
  REDIS_URL: {
    kind: redisUrl,
    default: '',
    description:
      '`redis://…`: rate limits, the change feed and sign-outs shared by every instance; see the runbook for Redis down',
  },
  MAX_STREAMS_PER_CLIENT: {
    kind: int(1, 100_000),
    default: '10',
    description: 'Long-lived streams (`GET /v1/events`, `GET /sse`) one client may hold open',
  },
  MAX_STREAMS: { kind: int(1, 1_000_000), default: '1000', description: 'Long-lived streams the instance holds open' },
  MAX_CALLS_PER_CLIENT: {
    kind: int(1, 100_000),
    default: '20',
    description: 'Calls one client may have in flight: tool invokes (any framing) and `POST /mcp` exchanges',
  },
  MAX_CALLS: { kind: int(1, 1_000_000), default: '200', description: 'Calls the instance has in flight' },
  REQUEST_TIMEOUT_MS: {
    kind: int(1, 600_000),
    default: '30000',
    description:
      'A tool call answering later than this, in ms (a JSON invoke, or over MCP), gets `ETIMEOUT`; the call ' +
      'itself still completes',
  },
  TASK_MCP_STATE_DIR: {
    kind: text,
    default: '.task-mcp',
    description: 'Where the embedded default keeps its certificate and demo repo',
  },
  WORKERS: {
    kind: processes(256),
    default: '1',
    description:
      'Server processes behind the one port (node:cluster workers, restarted when one dies): a count, or `auto`, ' +
      'one per CPU. More than 1 needs `REDIS_URL`; see docs/scale_out.md',
  },
  WORKERS_WITHOUT_REDIS: {
    kind: flag,
    default: '0',
    description:
      '`1`: run `WORKERS` > 1 without `REDIS_URL` anyway; each worker then has its own feed, rate limits and sign-outs',
  },
  PUBLIC_URL: {
    kind: text,
    default: '',
    description: 'Public origin (`https://tasks.example.com`): the OAuth resource',
  },
  OAUTH_ISSUER: {
    kind: text,
    default: '',
    description:
      'Comma-separated issuers whose OAuth access tokens are accepted, each `label=issuer` or the issuer alone ' +
      '(its label is its host’s first name); the caller is `<subject>~<label>`',
  },
  OAUTH_AUDIENCE: {
    kind: text,
    default: '',
    description: 'Comma-separated `aud` values accepted; default `PUBLIC_URL`, `PUBLIC_URL/mcp`, `PUBLIC_URL/sse`',
  },
  OAUTH_INTROSPECTION_URL: {
    kind: text,
    default: '',
    description: 'RFC 7662 endpoint for opaque (non-JWT) tokens',
  },
  OAUTH_INTROSPECTION_CLIENT_ID: { kind: text, default: '', description: 'This server’s client id at that endpoint' },
  OAUTH_INTROSPECTION_CLIENT_SECRET: { kind: text, default: '', description: 'Its client secret (HTTP Basic)' },
  OAUTH_INTROSPECTION_CACHE_SECONDS: {
    kind: int(0, 3600),
    default: '60',
    description: 'Longest reuse of an introspection answer, in seconds, never past the token’s expiry',
  },
  OAUTH_CLOCK_SKEW_SECONDS: {
    kind: int(0, 300),
    default: '30',
    description: 'Leeway on a token’s `exp` and `nbf`, in seconds',
  },
  OAUTH_FETCH_TIMEOUT_MS: {
    kind: int(100, 60_000),
    default: '5000',
    description: 'Longest wait for an issuer’s metadata, keys or introspection answer, in ms',
  },
  OAUTH_JWKS_COOLDOWN_MS: {
    kind: int(0, 3_600_000),
    default: '30000',
    description: 'Least time between two fetches of an issuer’s keys for an unknown `kid`, in ms',
  },
  ...OBSERVABILITY_SETTINGS,
  NODE_ENV: {
    kind: text,
    default: '',
    description: '`production` requires tokens (or `OAUTH_ISSUER`), a repo and TLS',
  },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;

/** The value setting `name` reads as. */
export type SettingValue<N extends SettingName> = ReturnType<(typeof SETTINGS)[N]['kind']['parse']>;

/** What the README says of a setting: its description, then its kind's bounds. */
export function describeSetting(setting: Setting): string {
  return `${setting.description}${setting.kind.bounds ? ` (${setting.kind.bounds})` : ''}.`;
}

/** The settings of one environment, each parsed by its kind when asked for. */
export interface SettingReader {
  value<N extends SettingName>(name: N): SettingValue<N>;
  /** Stops the start with `message` (a ConfigError). */
  fail(message: string): never;
}

/** Reads settings from `env`; a variable unset or blank takes its default. */
export function readSettings(env: Record<string, string | undefined>): SettingReader {
  return {
    value<N extends SettingName>(name: N): SettingValue<N> {
      const setting: Setting = SETTINGS[name];
      const raw = env[name]?.trim();
      return setting.kind.parse(raw ? raw : setting.default, name) as SettingValue<N>;
    },
    fail(message) {
      throw new ConfigError(message);
    },
  };
}
