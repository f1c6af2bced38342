/**
 * Who is calling. Bearer tokens on every route the contract secures; the session cookie only where the contract
 * also names `cookieAuth` (the GET stream routes), so a cookie can never drive a state-changing request.
 */
import type { Middleware } from 'koa';
import type { operations } from '../../generated/operations.gen.js';
import { TaskError } from '../errors.js';
import type { Caller, RequestState } from './handler.js';
import { SESSION_COOKIE } from './session-cookie.js';
import type { TokenStore } from './tokens.js';

type AuthMode = (typeof operations)[keyof typeof operations]['auth'];

/** Verifies a session cookie's value; the name of its token, or undefined when expired, tampered or unsigned. */
export type SessionVerifier = (cookie: string) => string | undefined;

/** Query parameters that would carry a credential into URLs, proxies and logs: refused outright. */
const TOKEN_PARAMS = ['access_token', 'token', 'auth', 'authorization'];

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i;

/** The `WWW-Authenticate` challenge of a 401 (RFC 6750), set by the error responder. */
export const challenge = (presented: boolean): string =>
  presented ? 'Bearer realm="task-mcp", error="invalid_token"' : 'Bearer realm="task-mcp"';

const unauthorized = (message: string): TaskError =>
  new TaskError('EAUTH', message, {
    hint: 'Send the header "Authorization: Bearer <token>" with a token from TASK_MCP_TOKENS.',
  });

/** Authenticates per the operation's `auth` mode and records the caller in `ctx.state.caller`. */
export function authenticate(
  mode: AuthMode,
  tokens: TokenStore,
  verifySession?: SessionVerifier,
): Middleware<RequestState> {
  return async (ctx, next) => {
    if (mode === 'none') return next();
    if (Object.keys(ctx.query).some((key) => TOKEN_PARAMS.includes(key.toLowerCase()))) {
      throw unauthorized('Tokens are refused in the query string: URLs end up in logs and proxies.');
    }
    ctx.state.caller = callerOf(
      ctx.get('Authorization'),
      mode === 'bearerOrCookie' ? ctx.cookies.get(SESSION_COOKIE) : undefined,
    );
    return next();
  };

  function callerOf(authorization: string, cookie: string | undefined): Caller {
    if (authorization) {
      const token = BEARER.exec(authorization)?.[1];
      const name = token === undefined ? undefined : tokens.identify(token);
      if (name === undefined) throw unauthorized('The bearer token is not valid.');
      return { name, via: 'bearer' };
    }
    if (cookie !== undefined && verifySession) {
      const name = verifySession(cookie);
      if (name === undefined) throw unauthorized('The session cookie is expired or not valid; sign in again.');
      return { name, via: 'cookie' };
    }
    throw unauthorized('This route needs a bearer token.');
  }
}
