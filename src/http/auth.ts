/**
 * Who is calling. Bearer tokens on every route the contract secures; the session cookie only where the contract
 * also names `cookieAuth`: the GET stream routes, and `DELETE /v1/session`, which ends the session and whose CSRF
 * guard is the Origin check in front of every route. A cookie can never drive a change to the repository.
 */
import type { Middleware } from 'koa';
import { operations } from '../../generated/operations.gen.js';
import type { Problem } from '../../generated/types.gen.js';
import { TaskError, isTaskError } from '../errors.js';
import { bearerToken } from '../auth/bearer-token.js';
import { labelOf } from '../auth/caller-name.js';
import type { Challenge } from '../auth/challenge.js';
import { requireScopes, type Scope } from '../auth/scopes.js';
import type { AppContext, Caller, Credentials, RequestState } from './handler.js';
import { queryOf } from './query.js';
import { SESSION_COOKIE, type SessionClaims, type SessionCookies } from './session-cookie.js';
import type { TokenStore } from './tokens.js';

type Operation = (typeof operations)[keyof typeof operations];

/**
 * What a session cookie may do: what signing in needed (`POST /v1/session`'s scopes), and no more. A cookie can
 * never drive a change to the repository.
 */
const SESSION_SCOPES: ReadonlySet<Scope> = new Set(operations.createSession.scopes);

/** Verifies a session cookie's value; its claims, or undefined when expired, tampered, unsigned or of no token. */
export type SessionVerifier = (cookie: string) => SessionClaims | undefined;

/**
 * A signed cookie outlives nothing: not its expiry (never past its token's, see routes/session.ts), not the removal
 * of its token from `TASK_MCP_TOKENS` or of the scopes a session needs from it, not the removal of its OAuth
 * caller's issuer from `OAUTH_ISSUER`, and not its sign-out (asked of the revocations when the cookie is the
 * credential used). `oauthCallers` says whether a name is a caller of a configured issuer.
 */
export function createSessionVerifier(
  cookies: Pick<SessionCookies, 'verify'>,
  tokens: Pick<TokenStore, 'scopesOf'>,
  oauthCallers: (name: string) => boolean = () => false,
): SessionVerifier {
  const signsIn = (name: string): boolean => {
    if (labelOf(name) !== undefined) return oauthCallers(name);
    const scopes = tokens.scopesOf(name);
    return scopes !== undefined && operations.createSession.scopes.every((scope) => scopes.has(scope));
  };
  return (value) => {
    const claims = cookies.verify(value, new Date());
    return claims && signsIn(claims.name) ? claims : undefined;
  };
}

/** Whether a verified session was signed out; throws EUNAVAILABLE when that cannot be known. */
export type RevocationCheck = (sessionId: string) => Promise<boolean>;

/** Query parameters that would carry a credential into URLs, proxies and logs: refused outright. */
const TOKEN_PARAMS = ['access_token', 'token', 'auth', 'authorization'];

/**
 * The `WWW-Authenticate` challenge (RFC 6750 §3) a problem answer carries, if any: a 401's (`invalid_token` when a
 * token was `presented`), or an insufficient scope's 403, naming the scopes to ask for. The error responder writes it;
 * with OAuth, oauth-bearer.ts adds where the resource's metadata is.
 */
export function challengeOf(
  problem: Pick<Problem, 'code' | 'detail' | 'details'>,
  presented: boolean,
): Challenge | undefined {
  if (problem.code === 'EAUTH') return presented ? { error: 'invalid_token' } : {};
  if (problem.code !== 'EINSUFFICIENT_SCOPE') return undefined;
  const scope = problem.details?.scopes;
  return {
    error: 'insufficient_scope',
    ...(problem.detail !== undefined && { description: problem.detail }),
    ...(Array.isArray(scope) && { scope: scope.map(String) }),
  };
}

const unauthorized = (message: string): TaskError =>
  new TaskError('EAUTH', message, {
    hint: 'Send the header "Authorization: Bearer <token>" with a token from TASK_MCP_TOKENS.',
  });

/**
 * The request's credentials (see `Credentials`). The rate limiter keys on them and the auth middleware decides on
 * them; whether a session was signed out is asked only when its cookie is the credential used.
 */
export type Identify = (ctx: AppContext) => Credentials;

/**
 * Reads `Authorization` and the session cookie once per request (kept in `ctx.state.credentials`), whoever asks
 * first. A bearer token that is no static token may be an OAuth access token the verifier vouched for
 * (`ctx.state.oauth`, set by oauth-bearer.ts before anyone asks).
 */
export function createIdentify(tokens: TokenStore, verifySession: SessionVerifier): Identify {
  return (ctx) => {
    if (ctx.state.credentials) return ctx.state.credentials;
    const credentials: Credentials = {};
    const authorization = ctx.get('Authorization');
    if (authorization) {
      const token = bearerToken(authorization);
      const verified = ctx.state.oauth && 'identity' in ctx.state.oauth ? ctx.state.oauth.identity : undefined;
      // A JWT is longer than a static token may be: the OAuth verifier has judged it before the parser's limit.
      credentials.bearer = (token === undefined ? undefined : tokens.identify(token)) ?? verified ?? null;
    }
    // Koa makes its `Cookies` object when first asked, and a stream's context keeps it: ask only if there are any.
    const cookie = ctx.get('Cookie') ? ctx.cookies.get(SESSION_COOKIE) : undefined;
    if (cookie !== undefined) credentials.cookie = verifySession(cookie) ?? null;
    ctx.state.credentials = credentials;
    return credentials;
  };
}

/**
 * Authenticates per the operation's `auth` mode, records the caller in `ctx.state.caller`, and refuses a caller
 * without the operation's scopes (EINSUFFICIENT_SCOPE). When a cookie's sign-out cannot be checked (EUNAVAILABLE),
 * `unverifiable` answers the request instead, if given (a stream route tells its client to come back); else the
 * EUNAVAILABLE is the answer. An `auth: none` operation gets no middleware at all (a probe pays for no frame).
 */
export function authenticate(
  { auth: mode, scopes }: Pick<Operation, 'auth' | 'scopes'>,
  identify: Identify,
  isRevoked: RevocationCheck,
  unverifiable?: (ctx: AppContext) => void,
): Middleware<RequestState>[] {
  if (mode === 'none') return [];
  const check: Middleware<RequestState> = async (ctx, next) => {
    if (Object.keys(queryOf(ctx)).some((key) => TOKEN_PARAMS.includes(key.toLowerCase()))) {
      throw unauthorized('Tokens are refused in the query string: URLs end up in logs and proxies.');
    }
    const caller = callerOf(identify(ctx), mode === 'bearerOrCookie');
    if (caller.session !== undefined) {
      let revoked: boolean;
      try {
        revoked = await isRevoked(caller.session);
      } catch (err) {
        if (unverifiable && isTaskError(err) && err.code === 'EUNAVAILABLE') return unverifiable(ctx);
        throw err;
      }
      if (revoked) throw cookieRefused();
    }
    ctx.state.caller = caller;
    requireScopes(caller.scopes, scopes);
    return next();
  };
  return [check];
}

const cookieRefused = (): TaskError => unauthorized('The session cookie is expired or not valid; sign in again.');

function callerOf({ bearer, cookie }: Credentials, cookieAccepted: boolean): Caller {
  if (bearer !== undefined) {
    if (bearer === null) throw unauthorized('The bearer token is not valid.');
    return { ...bearer, via: 'bearer' };
  }
  if (cookieAccepted && cookie !== undefined) {
    if (cookie === null) throw cookieRefused();
    const { name, id, expiresAt } = cookie;
    return { name, scopes: SESSION_SCOPES, expiresAt, via: 'cookie', session: id };
  }
  throw unauthorized('This route needs a bearer token.');
}
