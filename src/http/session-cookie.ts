/**
 * The `task_mcp_session` cookie: what `EventSource` sends instead of a bearer token, which it cannot set.
 * The value is `v2.<id>.<name>.<expiry>.<mac>`: a random session id (what sign-out revokes), the caller's name
 * (base64url), the expiry (Unix seconds) and an HMAC-SHA256 over all three. A live session needs no server-side
 * state; a signed-out one is remembered until its expiry (see session-revocations.ts). A per-process random secret
 * (no `COOKIE_SECRET`) means every session ends on restart.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MIN_COOKIE_SECRET_LENGTH } from '../config/index.js';

export const SESSION_COOKIE = 'task_mcp_session';

const VERSION = 'v2';
const ID_BYTES = 16;
const ID = /^[A-Za-z0-9_-]{22}$/;

export interface SessionCookieOptions {
  /** HMAC key (`COOKIE_SECRET`), at least `MIN_COOKIE_SECRET_LENGTH` bytes; random per process when undefined. */
  secret: string | undefined;
  /** Lifetime of a session in seconds. */
  ttlSeconds: number;
  /** True when cross-site origins are configured (`CORS_ORIGINS`): then `SameSite=None`, else `Strict`. */
  crossSite: boolean;
}

/** A verified session. */
export interface SessionClaims {
  /** The session's random id: what sign-out revokes. */
  id: string;
  /** The caller's name (a static token's name, or an OAuth caller's; never the token). */
  name: string;
  expiresAt: Date;
}

export interface SessionCookies {
  readonly name: typeof SESSION_COOKIE;
  /**
   * A signed value for a new session of `name`, valid until `now + ttlSeconds`, or until `notAfter` if that is sooner
   * (the expiry of the credential it was made from), in whole seconds.
   */
  issue(name: string, now: Date, notAfter?: Date): SessionClaims & { value: string };
  /** The claims of a value signed here and not expired at `now`; undefined for anything else. */
  verify(value: string | undefined, now: Date): SessionClaims | undefined;
  /** The `Set-Cookie` header that stores `value` until `expiresAt`. */
  setCookieHeader(value: string, expiresAt: Date): string;
  /** The `Set-Cookie` header that deletes the cookie. */
  clearCookieHeader(): string;
}

/** Builds the signer; checks the options now rather than on first use. */
export function createSessionCookies(options: SessionCookieOptions): SessionCookies {
  const { ttlSeconds, crossSite } = options;
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1)
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  const key =
    options.secret === undefined ? randomBytes(MIN_COOKIE_SECRET_LENGTH) : Buffer.from(options.secret, 'utf8');
  if (key.length < MIN_COOKIE_SECRET_LENGTH)
    throw new RangeError(`COOKIE_SECRET must be at least ${MIN_COOKIE_SECRET_LENGTH} bytes`);

  const mac = (payload: string): Buffer => createHmac('sha256', key).update(payload).digest();
  // `SameSite=None` is only honoured with `Secure`, which every variant carries.
  const suffix = `; Path=/; HttpOnly; Secure; SameSite=${crossSite ? 'None' : 'Strict'}`;

  return {
    name: SESSION_COOKIE,
    issue(name, now, notAfter) {
      const id = randomBytes(ID_BYTES).toString('base64url');
      const expiry = Math.min(
        Math.floor(now.getTime() / 1000) + ttlSeconds,
        notAfter === undefined ? Infinity : Math.floor(notAfter.getTime() / 1000),
      );
      const payload = `${VERSION}.${id}.${Buffer.from(name, 'utf8').toString('base64url')}.${expiry}`;
      const value = `${payload}.${mac(payload).toString('base64url')}`;
      return { value, id, name, expiresAt: new Date(expiry * 1000) };
    },
    verify(value, now) {
      const parts = value?.split('.');
      if (parts?.length !== 5 || parts[0] !== VERSION || !ID.test(parts[1]!) || !/^[0-9]{1,12}$/.test(parts[3]!))
        return undefined;
      const [version, id, name, expiry, signature] = parts as [string, string, string, string, string];
      // Compare the canonical encoding, in constant time, and only at equal lengths (timingSafeEqual throws otherwise).
      const expected = Buffer.from(mac(`${version}.${id}.${name}.${expiry}`).toString('base64url'));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      const expiresAt = new Date(Number(expiry) * 1000);
      if (expiresAt.getTime() <= now.getTime()) return undefined;
      return { id, name: Buffer.from(name, 'base64url').toString('utf8'), expiresAt };
    },
    setCookieHeader: (value, expiresAt) => `${SESSION_COOKIE}=${value}; Expires=${expiresAt.toUTCString()}${suffix}`,
    clearCookieHeader: () => `${SESSION_COOKIE}=; Expires=${new Date(0).toUTCString()}; Max-Age=0${suffix}`,
  };
}
