/**
 * What kind of value each setting holds: how its text is parsed and checked, and what the README says of its
 * bounds. A kind's bounds are written once, here, and reach both the check and the README's table.
 */
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { MAX_TOKEN_LENGTH, MIN_TOKEN_LENGTH, tokenFault } from '../auth/bearer-token.js';
import { isTokenName } from '../auth/caller-name.js';
import { ALL_SCOPES, isScope, type Scope } from '../auth/scopes.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface Kind<T> {
  /** Reads `raw` (trimmed; the default when unset) of setting `name`; throws a ConfigError naming it. */
  parse(raw: string, name: string): T;
  /** What the README adds after the description, in parentheses: `50–300000`. */
  readonly bounds?: string;
}

/** The value a kind reads. */
export type ValueOf<K> = K extends Kind<infer T> ? T : never;

export interface Token {
  name: string;
  token: string;
  /** The scopes the entry lists; every scope when it lists none. */
  scopes?: Scope[];
}

/** `max` requests per `durationMs`, from a setting like `20/1s`. */
export interface RateWindow {
  max: number;
  durationMs: number;
}

/** Any text, as written. */
export const text: Kind<string> = { parse: (raw) => raw };

/** A whole number from `min` to `max`. */
export function int(min: number, max: number): Kind<number> {
  return {
    bounds: `${min}–${max}`,
    parse(raw, name) {
      const value = Number(raw);
      if (!/^\d+$/.test(raw) || value < min || value > max) {
        throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      }
      return value;
    },
  };
}

/** One of `allowed` (the description names them). */
export function oneOf<T extends string>(allowed: readonly T[]): Kind<T> {
  return {
    parse(raw, name) {
      if (!allowed.includes(raw as T)) {
        throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
      }
      return raw as T;
    },
  };
}

/** An IP address or a host name. */
export const host: Kind<string> = {
  parse(raw, name) {
    if (isIP(raw) === 0 && !/^[a-z0-9.-]+$/i.test(raw))
      throw new ConfigError(`${name} must be an address or host name`);
    return raw;
  },
};

/** A count of proxies (`true` is one). */
export function hops(max: number): Kind<number> {
  const count = int(0, max);
  return { bounds: count.bounds, parse: (raw, name) => (raw === 'true' ? 1 : count.parse(raw, name)) };
}

/** Unset, or the secret itself, at least `min` characters; undefined when unset. */
export function secret(min: number): Kind<string | undefined> {
  return {
    bounds: `≥ ${min} chars`,
    parse(raw, name) {
      if (!raw) return undefined;
      if (raw.length < min) throw new ConfigError(`${name} must be at least ${min} characters`);
      return raw;
    },
  };
}

/** `raw` as a URL, or undefined when it is not one. */
export function parseUrl(raw: string): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

/** Comma-separated bare origins (`scheme://host[:port]`). */
export const origins: Kind<string[]> = {
  parse(raw, name) {
    if (!raw) return [];
    return raw.split(',').map((entry) => {
      const origin = entry.trim();
      const parsed = parseUrl(origin);
      if (parsed === undefined) {
        throw new ConfigError(`${name} entry "${origin}" is not an origin like https://app.example.com`);
      }
      if (parsed.origin !== origin) {
        throw new ConfigError(
          `${name} entry "${origin}" must be a bare origin (scheme://host[:port]): ${parsed.origin}`,
        );
      }
      return origin;
    });
  },
};

/**
 * Comma-separated `name:token` pairs, each name optionally followed by the token's scopes in brackets,
 * `ci[changes:read]:token` (space-separated; every scope when none are listed). The brackets cannot be mistaken for
 * the token, which may hold `:`, since a name has no `[`. A name can be a caller (the receipts' actor, the root of
 * its lock owners' namespace) and a token is one the bearer parser accepts, so none can answer 401 forever.
 * Messages name a pair by its position and name, never its token: that is a secret.
 */
export const tokens: Kind<Token[]> = {
  bounds: `tokens of ${MIN_TOKEN_LENGTH}–${MAX_TOKEN_LENGTH} visible ASCII characters`,
  parse(raw, name) {
    if (!raw) return [];
    const read = raw.split(',').map((pair, index) => tokenEntry(pair, `${name} entry ${index + 1}`));
    const names = read.map((t) => t.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate) throw new ConfigError(`${name} names ${duplicate} twice`);
    return read;
  },
};

const TOKEN_ENTRY = /^([^:[]*)(?:\[([^\]]*)\])?:(.*)$/s;

function tokenEntry(pair: string, entry: string): Token {
  const [, rawName = '', list, rawToken = ''] = TOKEN_ENTRY.exec(pair.trim()) ?? [];
  const owner = rawName.trim();
  const token = rawToken.trim();
  if (!isTokenName(owner)) {
    throw new ConfigError(
      `${entry} must be name:token or name[scopes]:token with a name of 1–64 characters [A-Za-z0-9._@-]`,
    );
  }
  const fault = tokenFault(token);
  if (fault !== undefined) {
    throw new ConfigError(
      `${entry} (${owner}) needs a token of ${MIN_TOKEN_LENGTH}–${MAX_TOKEN_LENGTH} ` +
        `visible ASCII characters; its token ${fault}`,
    );
  }
  return list === undefined ? { name: owner, token } : { name: owner, token, scopes: scopeList(list, entry, owner) };
}

function scopeList(list: string, entry: string, owner: string): Scope[] {
  const named = list.split(' ').filter(Boolean);
  const unknown = named.find((scope) => !isScope(scope));
  if (unknown !== undefined || named.length === 0) {
    throw new ConfigError(
      `${entry} (${owner}) must list scopes among ${ALL_SCOPES.join(', ')} in its brackets` +
        (unknown === undefined ? '' : `, not "${unknown}"`),
    );
  }
  return [...new Set(named)] as Scope[];
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const LONGEST_WINDOW_MS = 86_400_000;

/** `count/duration` with a unit of ms, s, m or h, up to a day. */
export const window: Kind<RateWindow> = {
  bounds: 'up to 24 h',
  parse(raw, name) {
    const match = /^(\d{1,9})\/(\d{1,9})(ms|s|m|h)$/.exec(raw);
    const max = Number(match?.[1]);
    const durationMs = Number(match?.[2]) * UNIT_MS[match?.[3] ?? 's']!;
    if (!match || max < 1 || durationMs < 1 || durationMs > LONGEST_WINDOW_MS) {
      throw new ConfigError(`${name} must be count/duration like 20/1s or 300/60s (up to 24h), got "${raw}"`);
    }
    return { max, durationMs };
  },
};

/** Unset, or a `redis://` / `rediss://` URL; the message leaves the value out (it may hold a password). */
export const redisUrl: Kind<string | undefined> = {
  parse(raw, name) {
    if (!raw) return undefined;
    if (!/^rediss?:\/\/[^\s]+$/.test(raw)) throw new ConfigError(`${name} must be a redis:// or rediss:// URL`);
    return raw;
  },
};

/** Unset or `off`. */
export const offOrUnset: Kind<'' | 'off'> = {
  parse(raw, name) {
    if (raw !== '' && raw !== 'off') throw new ConfigError(`${name} must be "off" or unset, got "${raw}"`);
    return raw;
  },
};

/** `0` or `1`, read as a yes/no. */
export const flag: Kind<boolean> = {
  parse: (raw, name) => oneOf(['0', '1'] as const).parse(raw, name) === '1',
};

/** A count of server processes, or `auto`: one per CPU. */
export function processes(max: number): Kind<number> {
  const count = int(1, max);
  return {
    bounds: count.bounds,
    parse: (raw, name) => (raw === 'auto' ? availableParallelism() : count.parse(raw, name)),
  };
}

/** Unset, or a port; undefined when unset. */
export const optionalPort: Kind<number | undefined> = {
  bounds: int(0, 65535).bounds,
  parse: (raw, name) => (raw ? int(0, 65535).parse(raw, name) : undefined),
};

/** Unset, or a bearer token the parser accepts; never quoted in a message (it is a secret). */
export const optionalToken: Kind<string | undefined> = {
  bounds: `${MIN_TOKEN_LENGTH}–${MAX_TOKEN_LENGTH} visible ASCII characters`,
  parse(raw, name) {
    if (!raw) return undefined;
    const fault = tokenFault(raw);
    if (fault !== undefined) {
      throw new ConfigError(
        `${name} needs ${MIN_TOKEN_LENGTH}–${MAX_TOKEN_LENGTH} visible ASCII characters; it ${fault}`,
      );
    }
    return raw;
  },
};

/** Unset, or an `http:` or `https:` URL; undefined when unset. */
export const optionalHttpUrl: Kind<string | undefined> = {
  parse(raw, name) {
    if (!raw) return undefined;
    const url = parseUrl(raw);
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
      throw new ConfigError(`${name} must be an http:// or https:// URL`);
    }
    return raw;
  },
};

/**
 * Comma-separated `key=value` pairs, values percent-decoded (the W3C Baggage form OpenTelemetry's variables use).
 * Values are never quoted in a message: headers carry API keys.
 */
export const keyValues: Kind<Record<string, string>> = {
  parse(raw, name) {
    const pairs = raw.split(',').filter((pair) => pair.trim() !== '');
    return Object.fromEntries(
      pairs.map((pair, index) => {
        const at = pair.indexOf('=');
        const key = pair.slice(0, at).trim();
        let value: string | undefined;
        try {
          value = decodeURIComponent(pair.slice(at + 1).trim());
        } catch {
          value = undefined;
        }
        if (at < 1 || value === undefined || !/^[\w.-]+$/.test(key)) {
          throw new ConfigError(`${name} entry ${index + 1} must be key=value (a value percent-encoded)`);
        }
        return [key, value];
      }),
    );
  },
};

/** A number from 0 to 1. */
export const fraction: Kind<number> = {
  bounds: '0–1',
  parse(raw, name) {
    const value = Number(raw);
    if (!/^\d*\.?\d+$/.test(raw) || value > 1)
      throw new ConfigError(`${name} must be a number from 0 to 1, got "${raw}"`);
    return value;
  },
};

/** `true` or `false` (any case), as OpenTelemetry's boolean variables are written. */
export const boolean: Kind<boolean> = {
  parse: (raw, name) => oneOf(['true', 'false'] as const).parse(raw.toLowerCase(), name) === 'true',
};
