/**
 * Opaque access tokens, asked about at an RFC 7662 introspection endpoint with this resource server's own client
 * credentials. An active answer is checked like a JWT (issuer, audience, `exp`, `nbf`) and cached, keyed by the
 * token's SHA-256 (never the token), for the token's remaining life or `cacheSeconds`, whichever is shorter: a
 * revoked token is accepted for at most that long.
 */
import { createHash } from 'node:crypto';
import { type Claims, type ClaimRules, type Principal, checkClaims, principalFrom } from './claims.js';
import { refused } from './errors.js';
import type { IssuerContact } from './issuer-contact.js';

export interface IntrospectionOptions {
  url: string;
  clientId: string;
  clientSecret: string;
  /** The longest an answer is reused; 0 asks every time. */
  cacheSeconds: number;
  /** Cached answers kept at most (the oldest goes first); default 10 000. */
  maxEntries?: number;
}

export type Introspect = (token: string) => Promise<Principal>;

export function createIntrospection(
  options: IntrospectionOptions,
  rules: ClaimRules,
  contact: IssuerContact,
  now: () => number,
): Introspect {
  const cache = new Map<string, { principal: Principal; until: number }>();
  const maxEntries = options.maxEntries ?? 10_000;
  const authorization = `Basic ${Buffer.from(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`).toString('base64')}`;
  // Tokens from an endpoint whose answers name no `iss` are taken as the first issuer's.
  const fallbackIssuer = rules.issuers[0]!;

  const ask = async (token: string): Promise<Claims> => {
    const response = await contact.fetch(options.url, options.url, {
      method: 'POST',
      redirect: 'error',
      headers: {
        Authorization: authorization,
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    const answer = response.ok ? ((await response.json().catch(() => undefined)) as unknown) : undefined;
    if (typeof answer !== 'object' || answer === null) {
      throw contact.unavailable(options.url, `introspection answered ${response.status} without a JSON object`);
    }
    return answer as Claims;
  };

  return async (token) => {
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = cache.get(key);
    if (cached && now() < cached.until) return cached.principal;
    cache.delete(key);
    const claims = await ask(token);
    if (claims.active !== true) throw refused('inactive');
    const principal = principalFrom(claims, checkClaims(claims, rules, now(), fallbackIssuer));
    const until = Math.min(principal.expiresAt.getTime(), now() + options.cacheSeconds * 1000);
    if (until > now()) {
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
      cache.set(key, { principal, until });
    }
    return principal;
  };
}

/** RFC 6749 §2.3.1: client id and secret are form-encoded before they are joined for HTTP Basic. */
const formEncode = (value: string): string => new URLSearchParams({ v: value }).toString().slice(2);
