/**
 * The two ways verifying an access token fails, kept apart because the edge answers them differently: a bad
 * token is the caller's to fix (401, RFC 6750 `invalid_token`), an unreachable issuer is ours (503 with
 * `Retry-After`, `oauth: "degraded"` in readiness). Neither message ever quotes the token.
 */

/** The token is not one this resource accepts: malformed, expired, for another audience, badly signed… */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
  /** The RFC 6750 error code, for the `WWW-Authenticate` challenge. */
  readonly error = 'invalid_token' as const;

  /** @param description the RFC 6750 `error_description`: says what is wrong, never quotes the token. */
  constructor(readonly description: string) {
    super(description);
  }
}

/** Every reason a token is refused, as its RFC 6750 `error_description`: written once, for JWTs and introspection. */
export const REFUSED = {
  malformed: 'The access token is malformed.',
  notJwt: 'The access token is not a JWT, and no introspection endpoint is configured.',
  issuer: 'The access token was not issued by an accepted issuer.',
  audience: 'The access token was not issued for this resource.',
  expired: 'The access token has expired.',
  notYetValid: 'The access token is not valid yet.',
  noExpiry: 'The access token has no expiry.',
  noSubject: 'The access token names no subject.',
  algorithm: 'The access token is signed with an algorithm this resource does not accept.',
  unknownKey: 'The access token is signed with a key its issuer does not publish.',
  signature: 'The access token signature does not verify.',
  claims: 'The access token claims are not valid.',
  inactive: 'The access token is not active.',
} as const;

export type Refusal = keyof typeof REFUSED;

/** The InvalidTokenError for one of the reasons above. */
export const refused = (why: Refusal): InvalidTokenError => new InvalidTokenError(REFUSED[why]);

/** The issuer (its metadata, its keys or its introspection endpoint) could not be reached or made no sense. */
export class IssuerUnavailableError extends Error {
  override readonly name = 'IssuerUnavailableError';

  /**
   * @param issuer the issuer, or the introspection endpoint, that failed
   * @param reason what went wrong (a status, a timeout, a refused connection)
   * @param retryAfterSeconds what to tell the caller in `Retry-After`
   */
  constructor(
    readonly issuer: string,
    reason: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`The authorization server ${issuer} is unavailable: ${reason}`);
  }
}
