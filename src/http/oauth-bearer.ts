/**
 * OAuth access tokens at the HTTP edge; the checks themselves are src/auth's. A bearer token that is not one of
 * `TASK_MCP_TOKENS` is verified before the rate limiter keys the request, so the verified subject (as its caller
 * name, caller-name.ts) is the caller everywhere a token name is used; static tokens and the public routes never
 * reach the verifier, so an unreachable issuer costs them nothing. A 401, and an insufficient scope's 403, carry the
 * RFC 9728 challenge that starts an OAuth client's discovery (or its step-up).
 */
import type { Middleware } from 'koa';
import { operations } from '../../generated/operations.gen.js';
import type { CheckState } from '../../generated/types.gen.js';
import type { OAuthConfig } from '../config/index.js';
import { callerName, labelOf } from '../auth/caller-name.js';
import { InvalidTokenError, IssuerUnavailableError, createOAuthVerifier } from '../auth/oauth-verifier.js';
import { createProtectedResource, type ProtectedResource } from '../auth/protected-resource.js';
import { knownScopes } from '../auth/scopes.js';
import { TaskError } from '../errors.js';
import type { ChallengeWriter } from './error-responder.js';
import type { AppContext, Identity, RequestState } from './handler.js';
import type { TokenStore } from './tokens.js';

/** RFC 6750 §2.1's `b64token`: JWTs are longer than static tokens may be; the 8 KiB header limit bounds them. */
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/** Routes the contract leaves open (probes, the contract, discovery): a token sent there is not looked at. */
const PUBLIC_PATHS: ReadonlySet<string> = new Set(
  Object.values(operations)
    .filter((op) => op.auth === 'none')
    .map((op) => op.path),
);

export interface OAuthBearer {
  resource: ProtectedResource;
  /** Verifies a non-static bearer token; mount after the error responder and before the rate limiter. */
  verify: Middleware<RequestState>;
  /** The RFC 6750 / RFC 9728 challenge of every 401 and step-up 403, for the error responder. */
  challenge: ChallengeWriter;
  /** Whether `name` is a caller of a configured issuer (so its session cookie still holds). */
  knows(name: string): boolean;
  /** The readiness check: `degraded` while an issuer cannot be reached. */
  checks: { oauth: () => Promise<CheckState> };
}

export function createOAuthBearer(config: OAuthConfig, tokens: TokenStore): OAuthBearer {
  const verifier = createOAuthVerifier(config);
  const resource = createProtectedResource(config);
  const labels = new Set(Object.values(config.labels));

  const identify = async (token: string): Promise<Identity> => {
    const { subject, issuer, scopes, expiresAt } = await verifier.verify(token);
    return { name: callerName(subject, config.labels[issuer]!), scopes: knownScopes(scopes), expiresAt };
  };

  const verify: Middleware<RequestState> = async (ctx, next) => {
    const token = PUBLIC_PATHS.has(ctx.path) ? undefined : BEARER.exec(ctx.get('Authorization'))?.[1];
    if (token === undefined || tokens.identify(token) !== undefined) return next();
    try {
      ctx.state.oauth = { identity: await identify(token) };
    } catch (err) {
      if (err instanceof InvalidTokenError) ctx.state.oauth = { refusal: err };
      else throw err instanceof IssuerUnavailableError ? unavailable(ctx, err) : err;
    }
    return next();
  };

  // A token the verifier refused says why on the 401, and every challenge points at the resource's metadata.
  const challenge: ChallengeWriter = (ctx, answered) => {
    const outcome = ctx.state.oauth;
    const refusal = ctx.status === 401 && outcome && 'refusal' in outcome ? outcome.refusal : undefined;
    return resource.challenge(
      ctx.path,
      refusal ? { error: refusal.error, description: refusal.description } : answered,
    );
  };

  return {
    resource,
    verify,
    challenge,
    knows: (name) => labels.has(labelOf(name) ?? ''),
    checks: { oauth: async () => verifier.health() },
  };
}

/** 503 with `Retry-After`: the token may be fine, we cannot tell yet. Logged with the issuer, never the token. */
function unavailable(ctx: AppContext, err: IssuerUnavailableError): TaskError {
  ctx.state.log.warn({ issuer: err.issuer, reason: err.message }, 'OAuth issuer unavailable');
  ctx.set('Retry-After', String(err.retryAfterSeconds));
  return new TaskError('EAUTH_UNAVAILABLE', 'The authorization server of this token cannot be reached; try again.', {
    details: { issuer: err.issuer },
  });
}
