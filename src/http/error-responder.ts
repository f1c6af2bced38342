/**
 * The one place an HTTP error becomes a response: TaskErrors keep their code, the router's refusals (no route, a
 * method the route does not take) get theirs, anything else is a 500 that says nothing but the request id and is
 * logged once, on the request's log line.
 */
import type { Middleware } from 'koa';
import type { ErrorCode } from '../../generated/types.gen.js';
import { TaskError, isTaskError } from '../errors.js';
import { formatChallenge, type Challenge } from '../auth/challenge.js';
import { challengeOf } from './auth.js';
import type { AppContext, RequestState } from './handler.js';
import { PROBLEM_TYPE, toProblem } from './problem.js';
import { recordFailure } from './request-log.js';

const NO_ROUTE = { code: 'ENOTFOUND', message: 'No such route.' } as const;
const NO_METHOD = { code: 'EMETHOD', message: 'This route does not take that method.' } as const;

/**
 * What a status @koa/router sets or throws without a TaskError means. Its 501 is a method it has no route for at
 * all (`PROPFIND`): on a path that has routes that is a 405 like any other (`Allow` names them), else a 404.
 */
function routerRefusal(status: unknown, allow: string): { code: ErrorCode; message: string } | undefined {
  if (status === 404) return NO_ROUTE;
  if (status === 405 || status === 501) return allow ? NO_METHOD : NO_ROUTE;
  return undefined;
}

function asTaskError(err: unknown, allow: string): TaskError | undefined {
  if (isTaskError(err)) return err;
  const known = routerRefusal((err as { status?: unknown }).status, allow);
  return known && (err as { expose?: unknown }).expose ? new TaskError(known.code, known.message) : undefined;
}

/** The `WWW-Authenticate` value of a 401 or step-up 403: with OAuth, the protected resource's (oauth-bearer.ts). */
export type ChallengeWriter = (ctx: AppContext, challenge: Challenge) => string;

const plainChallenge: ChallengeWriter = (_ctx, challenge) => formatChallenge(challenge);

export function errorResponder(writeChallenge: ChallengeWriter = plainChallenge): Middleware<RequestState> {
  return async (ctx, next) => {
    try {
      await next();
      const refused = ctx.respond !== false && ctx.body == null && routerRefusal(ctx.status, ctx.response.get('Allow'));
      if (refused) throw new TaskError(refused.code, refused.message);
    } catch (err) {
      if (ctx.headerSent || !ctx.writable) return; // a stream failed mid-way; its own cleanup ends it
      // Nothing was sent yet, even by a route that meant to write the response itself (MCP): Koa answers this.
      ctx.respond = true;
      const known = asTaskError(err, ctx.response.get('Allow'));
      if (!known) recordFailure(ctx.res, err);
      const problem = toProblem(known ?? err, ctx.state.requestId);
      ctx.status = problem.status;
      ctx.type = PROBLEM_TYPE;
      ctx.body = problem;
      const challenge = challengeOf(problem, Boolean(ctx.get('Authorization')));
      if (challenge) ctx.set('WWW-Authenticate', writeChallenge(ctx, challenge));
    }
  };
}
