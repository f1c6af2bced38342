/**
 * The OAuth 2.1 resource server's token check, protocol-agnostic (no Koa, no MCP): a bearer token in, a verified
 * principal out, or a typed refusal. JWT access tokens are verified locally against their issuer's keys
 * (jwt-access-token.ts); any other token is introspected when an endpoint is configured (introspection.ts).
 *
 * @example
 * const verifier = createOAuthVerifier({
 *   issuers: ['https://auth.example.com'],
 *   audiences: ['https://tasks.example.com/mcp'],
 *   clockSkewSeconds: 30,
 *   fetchTimeoutMs: 5000,
 * });
 * const { subject, scopes } = await verifier.verify(token); // or InvalidTokenError / IssuerUnavailableError
 */
import type { CheckState } from '../../generated/types.gen.js';
import { type Principal, principalFrom } from './claims.js';
import { refused } from './errors.js';
import { type IntrospectionOptions, createIntrospection } from './introspection.js';
import { createIssuerContact } from './issuer-contact.js';
import { createMetadataLookup } from './issuer-metadata.js';
import { ASYMMETRIC_ALGORITHMS, createJwtCheck, looksLikeJwt } from './jwt-access-token.js';

export type { Principal } from './claims.js';
export { InvalidTokenError, IssuerUnavailableError, REFUSED } from './errors.js';

export interface OAuthVerifierOptions {
  /** Issuer identifiers accepted in `iss`, exactly as the issuers write them (a trailing slash counts). */
  issuers: readonly string[];
  /** This resource's identifiers (RFC 8707): a token's `aud` must name one of them. */
  audiences: readonly string[];
  /** RFC 7662 introspection for tokens that are not JWTs; without it those are refused. */
  introspection?: IntrospectionOptions | undefined;
  /** JWS algorithms accepted; a subset of ASYMMETRIC_ALGORITHMS, all of them by default. */
  algorithms?: readonly string[];
  /** Leeway on `exp` and `nbf`, for clocks that disagree a little. */
  clockSkewSeconds: number;
  /** Longest wait for an issuer's metadata, keys or introspection answer. */
  fetchTimeoutMs: number;
  /** Shortest time between two JWKS fetches for an unknown `kid`; jose's 30 s by default. */
  jwksCooldownMs?: number;
  /** The `Retry-After` an unreachable issuer's error suggests; 5 s by default. */
  retryAfterSeconds?: number;
  /** Epoch milliseconds; `Date.now` by default. */
  now?: () => number;
  /** The platform's `fetch` by default. */
  fetch?: typeof fetch;
}

export interface OAuthVerifier {
  /** Resolves to the token's principal; rejects with InvalidTokenError or IssuerUnavailableError. */
  verify(token: string): Promise<Principal>;
  /** `degraded` while the last contact with an issuer (or the introspection endpoint) failed. */
  health(): CheckState;
}

export function createOAuthVerifier(options: OAuthVerifierOptions): OAuthVerifier {
  const algorithms = checkedAlgorithms(options.algorithms ?? ASYMMETRIC_ALGORITHMS);
  if (options.issuers.length === 0) throw new TypeError('createOAuthVerifier: at least one issuer is needed');
  if (options.audiences.length === 0) throw new TypeError('createOAuthVerifier: at least one audience is needed');
  const now = options.now ?? Date.now;
  const contact = createIssuerContact({
    fetchTimeoutMs: options.fetchTimeoutMs,
    retryAfterSeconds: options.retryAfterSeconds ?? 5,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const rules = { issuers: options.issuers, audiences: options.audiences, clockSkewSeconds: options.clockSkewSeconds };
  const checkJwt = createJwtCheck(
    { ...rules, algorithms, jwksCooldownMs: options.jwksCooldownMs ?? 30_000, now },
    contact,
    createMetadataLookup(contact, now),
  );
  const introspect = options.introspection && createIntrospection(options.introspection, rules, contact, now);

  return {
    async verify(token) {
      if (looksLikeJwt(token)) {
        const { claims, issuer } = await checkJwt(token);
        return principalFrom(claims, issuer);
      }
      if (!introspect) throw refused('notJwt');
      return introspect(token);
    },
    health: contact.state,
  };
}

function checkedAlgorithms(algorithms: readonly string[]): string[] {
  const allowed: readonly string[] = ASYMMETRIC_ALGORITHMS;
  const refusedAlg = algorithms.find((alg) => !allowed.includes(alg));
  if (refusedAlg !== undefined || algorithms.length === 0) {
    throw new TypeError(
      `createOAuthVerifier: algorithms must be some of ${allowed.join(', ')}; got ${refusedAlg ?? 'none'}`,
    );
  }
  return [...algorithms];
}
