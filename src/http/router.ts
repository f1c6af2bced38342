/**
 * Routes from the contract: every operation of `openapi.yaml` is registered, with its auth, body parsing,
 * request validation and its handler.
 */
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { operations, type OperationId } from '../../generated/operations.gen.js';
import type { Contract } from '../contract/index.js';
import { TaskError } from '../errors.js';
import { authenticate, type Identify, type RevocationCheck } from './auth.js';
import { assertJsonDepth } from './limits.js';
import { holdsStream } from './media.js';
import { HANDLED, type Handler, type Handlers, type Input, type RequestState } from './handler.js';
import { PROBLEM_TYPE, invalidRequest } from './problem.js';
import { queryOf } from './query.js';
import { answerComeBackLater } from './stream-retry.js';

export interface RouterDeps {
  contract: Contract;
  handlers: Handlers;
  identify: Identify;
  /** Whether a cookie session was signed out (asked when its cookie is the credential used). */
  isRevoked: RevocationCheck;
  maxBodyBytes: number;
  /** Checks of an operation that need the caller but must run before its body is read (stream caps, deadlines). */
  guards?: (id: OperationId) => Middleware<RequestState>[];
}

type AnyReply = { status: number; body: unknown; headers?: Record<string, string> };

/** `/v1/tools/{tool}/invoke` → `/v1/tools/:tool/invoke`. */
const koaPath = (path: string): string => path.replace(/\{(\w+)\}/g, ':$1');

export function createRouter(deps: RouterDeps): Router<RequestState> {
  const router = new Router<RequestState>();
  const parseJson = jsonBody(deps.maxBodyBytes);
  for (const id of Object.keys(operations) as OperationId[]) {
    const op = operations[id];
    // A stream a cookie opens is told to come back while the cookie cannot be checked: EventSource survives that.
    const unverifiable = holdsStream(id) ? answerComeBackLater : undefined;
    const chain = [...authenticate(op, deps.identify, deps.isRevoked, unverifiable), ...(deps.guards?.(id) ?? [])];
    if (op.body) chain.push(parseJson);
    chain.push(runHandler(id, deps.handlers[id] as Handler<OperationId>, deps.contract));
    router.register(koaPath(op.path), [op.method], chain);
  }
  return router;
}

/** Parses a JSON body within the size and depth limits; any other media type is a 415. */
function jsonBody(limit: number): Middleware<RequestState> {
  // The body parser (with the form and charset decoders it brings) is loaded for the first body, not at start.
  let parser: Promise<Middleware<RequestState>> | undefined;
  const load = (): Promise<Middleware<RequestState>> =>
    (parser ??= import('@koa/bodyparser').then(
      ({ bodyParser }) =>
        bodyParser({
          enableTypes: ['json'],
          jsonLimit: limit,
          encoding: 'utf-8',
          onError(err) {
            if ((err as { status?: number }).status === 413) {
              throw new TaskError('ETOOLARGE', `The body is over the ${limit}-byte limit.`, { details: { limit } });
            }
            throw new TaskError('EBADJSON', 'The body is not valid JSON.', { cause: err });
          },
        }) as unknown as Middleware<RequestState>,
    ));
  return async (ctx, next) => {
    if (!ctx.is('application/json')) {
      throw new TaskError(
        'EUNSUPPORTED_MEDIA',
        `The body must be application/json, not ${ctx.get('Content-Type') || 'absent'}.`,
      );
    }
    const parse = await load();
    return parse(ctx, () => {
      assertJsonDepth(ctx.request.body);
      return next();
    });
  };
}

function runHandler(id: OperationId, handler: Handler<OperationId>, contract: Contract): Middleware<RequestState> {
  return async (ctx) => {
    const parts = { path: ctx.params, query: queryOf(ctx), header: ctx.headers, body: ctx.request.body };
    const issues = contract.checkRequest(id, parts);
    if (issues.length > 0) throw invalidRequest(issues);
    // Each handler was type-checked against its own operation where it was written; here they are all alike.
    const reply = (await handler(ctx, parts as unknown as Input<OperationId>)) as AnyReply | typeof HANDLED;
    if (reply === HANDLED) return;
    ctx.status = reply.status;
    if (reply.headers) ctx.set(reply.headers);
    ctx.body = reply.body;
    if (ctx.status >= 400) ctx.type = PROBLEM_TYPE;
  };
}
