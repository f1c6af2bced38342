/**
 * JWT access tokens (RFC 9068), checked with jose against the keys their issuer publishes: the issuer must be one
 * configured (looked at before anything is fetched, so a token cannot send this server to a URL of its choosing),
 * the algorithm one of an asymmetric allowlist (never `none`, never an HMAC, so a public key cannot be turned
 * into a shared secret), the signature good, `aud` one of this resource's identifiers, `exp`/`nbf` within the
 * skew. Each issuer's JWKS is cached by jose and fetched again when a token names a `kid` it does not hold (not
 * more often than the cooldown, so random `kid`s cannot make us hammer the issuer).
 */
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { type Refusal, IssuerUnavailableError, refused } from './errors.js';
import type { IssuerContact } from './issuer-contact.js';
import type { MetadataLookup } from './issuer-metadata.js';

/** The asymmetric JWS algorithms jose verifies: the most a configuration may allow. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export interface JwtRules {
  issuers: readonly string[];
  audiences: readonly string[];
  algorithms: readonly string[];
  clockSkewSeconds: number;
  /** Shortest time between two JWKS fetches for an unknown `kid`. */
  jwksCooldownMs: number;
  now: () => number;
}

/** Verifies a JWT access token; resolves to its payload and issuer. */
export type JwtCheck = (token: string) => Promise<{ claims: JWTPayload; issuer: string }>;

/** A compact JWS: three base64url parts (the last empty for `alg: none`, which is then refused by name). */
export const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

export function createJwtCheck(rules: JwtRules, contact: IssuerContact, metadata: MetadataLookup): JwtCheck {
  const keySets = new Map<string, JWTVerifyGetKey>();
  const keysOf = async (issuer: string): Promise<JWTVerifyGetKey> => {
    const known = keySets.get(issuer);
    if (known) return known;
    const { jwks_uri } = await metadata(issuer);
    if (!jwks_uri) throw contact.unavailable(issuer, 'its metadata names no jwks_uri');
    const keys = issuerKeys(issuer, new URL(jwks_uri), rules.jwksCooldownMs, contact);
    keySets.set(issuer, keys);
    return keys;
  };

  return async (token) => {
    const issuer = claimedIssuer(token);
    if (!rules.issuers.includes(issuer)) throw refused('issuer');
    const keys = await keysOf(issuer);
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer,
        audience: [...rules.audiences],
        algorithms: [...rules.algorithms],
        clockTolerance: rules.clockSkewSeconds,
        currentDate: new Date(rules.now()),
        requiredClaims: ['exp'],
      });
      return { claims: payload, issuer };
    } catch (err) {
      throw asRefusal(err);
    }
  };
}

/** The `iss` the token claims, read before any check: only to pick the issuer whose keys to check it with. */
function claimedIssuer(token: string): string {
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    throw refused('malformed');
  }
  if (typeof iss !== 'string') throw refused('issuer');
  return iss;
}

/**
 * jose's remote key set for one issuer, fetched through `contact` (timeout, health). Failing to get the keys is
 * the issuer's fault, not the token's: anything but "no key matches" becomes IssuerUnavailableError.
 */
function issuerKeys(issuer: string, jwksUri: URL, cooldownMs: number, contact: IssuerContact): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(jwksUri, {
    cooldownDuration: cooldownMs,
    [customFetch]: contact.fetcherFor(issuer),
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
      if (err instanceof IssuerUnavailableError) throw err;
      throw contact.unavailable(issuer, `its JWKS is not usable (${(err as Error).message})`);
    }
  };
}

const CLAIM_REFUSALS: Record<string, Refusal> = { aud: 'audience', iss: 'issuer', nbf: 'notYetValid', exp: 'noExpiry' };

/** jose's verdict as one of our refusals; an unavailable issuer stays what it is, and so does a fault of ours. */
function asRefusal(err: unknown): Error {
  if (err instanceof IssuerUnavailableError) return err;
  if (err instanceof errors.JWTExpired) return refused('expired');
  if (err instanceof errors.JWTClaimValidationFailed) return refused(CLAIM_REFUSALS[err.claim] ?? 'claims');
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return refused('algorithm');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return refused('unknownKey');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return refused('signature');
  if (err instanceof errors.JOSEError) return refused('malformed');
  return err as Error;
}
