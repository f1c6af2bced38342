/**
 * Who is calling. Bearer tokens on every route the contract secures; the session cookie only where the contract
 * also names `cookieAuth`: the GET stream routes, and `DELETE /v1/session`, which ends the session and whose CSRF
 * guard is the Origin check in front of every route. A cookie can never drive a change to the repository.
 */
import type { Middleware } from 'koa';
import type { operations } from '../../generated/operations.gen.js';
import { TaskError, isTaskError } from '../errors.js';
import { bearerToken } from '../auth/bearer-token.js';
import type { AppContext, Caller, Credentials, RequestState } from './handler.js';
import { SESSION_COOKIE, type SessionClaims } from './session-cookie.js';
import type { TokenStore } from './tokens.js';

type AuthMode = (typeof operations)[keyof typeof operations]['auth'];

/** Verifies a session cookie's value; its claims, or undefined when expired, tampered, unsigned or of no token. */
export type SessionVerifier = (cookie: string) => SessionClaims | undefined;

/** Whether a verified session was signed out; throws EUNAVAILABLE when that cannot be known. */
export type RevocationCheck = (sessionId: string) => Promise<boolean>;

/** Query parameters that would carry a credential into URLs, proxies and logs: refused outright. */
const TOKEN_PARAMS = ['access_token', 'token', 'auth', 'authorization'];

/** The `WWW-Authenticate` challenge of a 401 (RFC 6750), set by the error responder. */
export const challenge = (presented: boolean): string =>
  presented ? 'Bearer realm="task-mcp", error="invalid_token"' : 'Bearer realm="task-mcp"';

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
      const verified = ctx.state.oauth && 'subject' in ctx.state.oauth ? ctx.state.oauth.subject : undefined;
      // A JWT is longer than a static token may be: the OAuth verifier has judged it before the parser's limit.
      credentials.bearer = (token === undefined ? undefined : tokens.identify(token)) ?? verified ?? null;
    }
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    if (cookie !== undefined) credentials.cookie = verifySession(cookie) ?? null;
    ctx.state.credentials = credentials;
    return credentials;
  };
}

/**
 * Authenticates per the operation's `auth` mode and records the caller in `ctx.state.caller`. When a cookie's
 * sign-out cannot be checked (EUNAVAILABLE), `unverifiable` answers the request instead, if given (a stream route
 * tells its client to come back); else the EUNAVAILABLE is the answer.
 */
export function authenticate(
  mode: AuthMode,
  identify: Identify,
  isRevoked: RevocationCheck,
  unverifiable?: (ctx: AppContext) => void,
): Middleware<RequestState> {
  return async (ctx, next) => {
    if (mode === 'none') return next();
    if (Object.keys(ctx.query).some((key) => TOKEN_PARAMS.includes(key.toLowerCase()))) {
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
    return next();
  };
}

const cookieRefused = (): TaskError => unauthorized('The session cookie is expired or not valid; sign in again.');

function callerOf({ bearer, cookie }: Credentials, cookieAccepted: boolean): Caller {
  if (bearer !== undefined) {
    if (bearer === null) throw unauthorized('The bearer token is not valid.');
    return { name: bearer, via: 'bearer' };
  }
  if (cookieAccepted && cookie !== undefined) {
    if (cookie === null) throw cookieRefused();
    return { name: cookie.name, via: 'cookie', session: cookie.id };
  }
  throw unauthorized('This route needs a bearer token.');
}
