/**
 * The one place an HTTP error becomes a response: TaskErrors keep their code, the router's 404/405/501 get the
 * code of their status, anything else is a 500 that says nothing but the request
 * id and is logged once, on the request's log line.
 */
import type { Middleware } from 'koa';
import type { ErrorCode } from '../../generated/types.gen.js';
import type { ErrorMap } from '../contract/index.js';
import { TaskError, isTaskError } from '../errors.js';
import { challenge } from './auth.js';
import type { RequestState } from './handler.js';
import { PROBLEM_TYPE, toProblem } from './problem.js';

/** Codes for the statuses @koa/router sets or throws without a TaskError. */
const CODE_OF_STATUS: Record<number, { code: ErrorCode; message: string }> = {
  404: { code: 'ENOTFOUND', message: 'No such route.' },
  405: { code: 'EMETHOD', message: 'This route does not take that method.' },
  501: { code: 'ENOTIMPLEMENTED', message: 'This method is not implemented.' },
};

function asTaskError(err: unknown): TaskError | undefined {
  if (isTaskError(err)) return err;
  const status = (err as { status?: unknown; expose?: unknown }).status;
  const known = typeof status === 'number' ? CODE_OF_STATUS[status] : undefined;
  return known && (err as { expose?: unknown }).expose ? new TaskError(known.code, known.message) : undefined;
}

export function errorResponder(errorMap: ErrorMap): Middleware<RequestState> {
  return async (ctx, next) => {
    try {
      await next();
      const unanswered = ctx.respond !== false && ctx.body == null && CODE_OF_STATUS[ctx.status];
      if (unanswered) throw new TaskError(CODE_OF_STATUS[ctx.status]!.code, CODE_OF_STATUS[ctx.status]!.message);
    } catch (err) {
      if (ctx.headerSent || !ctx.writable) return; // a stream failed mid-way; its own cleanup ends it
      const known = asTaskError(err);
      if (!known) (ctx.res as { err?: unknown }).err = err; // pino-http puts it on the request's line
      const problem = toProblem(known ?? err, ctx.state.requestId, errorMap);
      ctx.status = problem.status;
      ctx.type = PROBLEM_TYPE;
      ctx.body = problem;
      if (problem.code === 'EAUTH') ctx.set('WWW-Authenticate', challenge(Boolean(ctx.get('Authorization'))));
    }
  };
}
