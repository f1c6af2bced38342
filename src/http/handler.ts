/**
 * Handlers typed from the contract. Each operation's handler gets its validated input typed from the generated
 * `…Data` type and must answer one of the operation's declared statuses with that status's body type, so a wrong
 * status or body does not compile. A handler that writes the response itself (a stream, or a library that owns
 * `res`) returns `HANDLED`.
 */
import type { ParameterizedContext } from 'koa';
import type { Logger } from 'pino';
import type { OperationId, Operations } from '../../generated/operations.gen.js';
import type { InvalidTokenError } from '../auth/errors.js';
import type { Scope } from '../auth/scopes.js';
import type { SpanIds } from '../tracing/tracing.js';
import type { SessionClaims } from './session-cookie.js';

/** Who a credential speaks for, and what it may do. */
export interface Identity {
  /**
   * The caller's name: a static token's name from `TASK_MCP_TOKENS`, or a verified OAuth token's subject with its
   * issuer's label (`<subject>~<label>`, src/auth/caller-name.ts); never the token.
   */
  name: string;
  scopes: ReadonlySet<Scope>;
  /** When the credential stops proving it (an OAuth token's `exp`, a cookie's expiry); never, for a static token. */
  expiresAt?: Date;
}

/** What the auth middleware established about the caller. */
export interface Caller extends Identity {
  via: 'bearer' | 'cookie';
  /** The session's id, when the caller came by its cookie. */
  session?: string;
}

/**
 * What a request's credentials say, read once per request (auth.ts): for each one presented, who it proves the
 * caller is (for a cookie, the session), or null when it proves nothing.
 */
export interface Credentials {
  bearer?: Identity | null;
  cookie?: SessionClaims | null;
}

/** What the OAuth verifier made of a bearer token that is no static token (oauth-bearer.ts). */
export type OAuthOutcome = { identity: Identity } | { refusal: InvalidTokenError };

/** Per-request state: everything a request carries from one middleware to the next lives here. */
export interface RequestState {
  requestId: string;
  log: Logger;
  /** The client's address (see client-ip.ts); logged on the request's line and part of its rate-limit key. */
  ip: string;
  /** Body bytes sent so far, whoever wrote them; logged on the request's line. */
  bytesSent: () => number;
  /** Set once read (see `createIdentify`). */
  credentials?: Credentials;
  /** Set when the request carried an OAuth access token. */
  oauth?: OAuthOutcome;
  /** The key the rate limits counted the request under. */
  rateKey?: string;
  caller?: Caller;
  /** Set by tool-calling routes; logged on the request's line. */
  tool?: string;
  transport?: 'mcp' | 'sse' | 'invoke' | 'events';
  /** The request's server span, when tracing is on (http-tracing.ts); logged on the request's line. */
  trace?: SpanIds;
}

export type AppContext = ParameterizedContext<RequestState>;

type Data<Op extends OperationId> = Operations[Op]['data'];
type Replies<Op extends OperationId> = Operations[Op]['responses'] & Operations[Op]['errors'];

/** The validated parts of the request, typed from the contract. */
export interface Input<Op extends OperationId> {
  body: Data<Op> extends { body?: infer B } ? B : never;
  path: Data<Op> extends { path?: infer P } ? P : never;
  query: Data<Op> extends { query?: infer Q } ? Q : never;
}

export type Reply<Op extends OperationId> = {
  [S in keyof Replies<Op>]: { status: S; body: Replies<Op>[S]; headers?: Record<string, string> };
}[keyof Replies<Op>];

export const HANDLED: unique symbol = Symbol('handled');
export type Handled = typeof HANDLED;

export type Handler<Op extends OperationId> = (ctx: AppContext, input: Input<Op>) => Promise<Reply<Op> | Handled>;

/** One handler for every operation of the contract: leaving one out does not compile. */
export type Handlers = { [Op in OperationId]: Handler<Op> };
