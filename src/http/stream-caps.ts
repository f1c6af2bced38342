/**
 * Caps on what a client holds open. A rate window counts requests, not how long they hold the server, so two
 * budgets bound that, each per client (IP plus token name) and per instance:
 *
 * - `streams`: long-lived streams that stay open until the client leaves (`GET /v1/events`, `GET /sse`);
 * - `calls`: exchanges that end with their answer, however it is framed (every tool invoke, JSON, SSE or
 *   NDJSON, and every `POST /mcp`: MCP clients all accept SSE, which makes an exchange no more a held stream).
 *
 * Kept apart, idle event streams cannot shut a client out of MCP, nor a flood of calls out of its event feed. An
 * MCP `subscriptions/listen` request (`Mcp-Method`, which the SDK checks against the body) holds a stream too.
 * Past a cap the request is refused with ERATELIMIT (429, `Retry-After`) before its body is read. A slot is
 * released exactly once, when the response closes, however it ends. With `REDIS_URL` the streams budget is one
 * budget for every instance (shared-budget.ts); calls stay per instance, as they hold the instance's own work.
 */
import type { Middleware } from 'koa';
import type { OperationId } from '../../generated/operations.gen.js';
import { TaskError } from '../errors.js';
import { onClose } from '../streaming/close-hooks.js';
import { clientKey } from './client-ip.js';
import { holdsStream, streamsAnAnswer } from './media.js';
import type { AppContext, RequestState } from './handler.js';

export type Budget = 'streams' | 'calls';

export interface Cap {
  perClient: number;
  total: number;
}

export interface StreamCapsOptions extends Record<Budget, Cap> {
  /** Told of each request a cap refused (the metrics' cap refusals). */
  onRefused?: (refusal: { budget: Budget; scope: 'client' | 'instance' }) => void;
}

export interface StreamCaps {
  /** The gate of an operation that holds a slot (placed after authentication), or undefined. */
  gate(id: OperationId): Middleware<RequestState> | undefined;
  /** Slots of `budget` this instance holds now. */
  open(budget: Budget): number;
}

/** A slot taken: the function that gives it back (idempotent); or which cap is full. */
export type Taken = (() => void) | 'client' | 'instance';

/** Where slots are taken. */
export interface SlotBudget {
  acquire(key: string): Taken | Promise<Taken>;
  /** Slots this instance holds now, in all. */
  readonly open: number;
}

/** The slots this instance holds, by client key. */
export interface LocalBudget extends SlotBudget {
  acquire(key: string): Taken;
  /** Records a slot for `key` whatever the caps (another place checked them); its release. */
  take(key: string): () => void;
  /** Slots held now, by client key. */
  held(): ReadonlyMap<string, number>;
}

/** The method of an MCP request that opens a long-lived notification stream. */
const LISTEN = 'subscriptions/listen';

/**
 * Which budget a request draws on, from the media types its operation answers in (see media.ts), and for `POST
 * /mcp` from the method it names in `Mcp-Method`.
 */
function budgetOf(id: OperationId, method: string): Budget | undefined {
  if (holdsStream(id) || (id === 'postMcp' && method === LISTEN)) return 'streams';
  return streamsAnAnswer(id) ? 'calls' : undefined;
}

/** How long, as far as the client can tell, a slot stays taken after a refusal: a hint, not a promise. */
const RETRY_AFTER_SECONDS: Record<Budget, number> = { streams: 5, calls: 1 };

const WHAT: Record<Budget, { many: string; fix: string }> = {
  streams: { many: 'open event streams', fix: 'close one first' },
  calls: { many: 'calls in flight', fix: 'wait for one to finish' },
};

/** One budget of this instance: slots per client key and in all. */
export function createLocalBudget({ perClient, total }: Cap): LocalBudget {
  const perKey = new Map<string, number>();
  let open = 0;
  const take = (key: string): (() => void) => {
    perKey.set(key, (perKey.get(key) ?? 0) + 1);
    open += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      open -= 1;
      const left = perKey.get(key)! - 1;
      if (left === 0) perKey.delete(key);
      else perKey.set(key, left);
    };
  };
  return {
    get open() {
      return open;
    },
    acquire(key) {
      if ((perKey.get(key) ?? 0) >= perClient) return 'client';
      if (open >= total) return 'instance';
      return take(key);
    },
    take,
    held: () => perKey,
  };
}

function refusal(budget: Budget, scope: 'client' | 'instance', limit: number): TaskError {
  const retryAfter = RETRY_AFTER_SECONDS[budget];
  const { many, fix } = WHAT[budget];
  const who = scope === 'client' ? 'this client' : 'this server';
  return new TaskError('ERATELIMIT', `Too many ${many} for ${who}; ${fix}.`, {
    hint:
      scope === 'client'
        ? `Each client may hold ${limit} ${many}.`
        : `The server holds at most ${limit} ${many} in all; retry shortly, or on another instance.`,
    details: { retryAfter, budget, scope, limit },
  });
}

/**
 * The caps of `options`; `shared.streams`, when given, is where stream slots are taken (shared-budget.ts, with
 * `REDIS_URL`), else this instance's own budget.
 */
export function createStreamCaps(options: StreamCapsOptions, shared: { streams?: SlotBudget } = {}): StreamCaps {
  for (const budget of ['streams', 'calls'] as const) {
    const { perClient, total } = options[budget];
    if (!(perClient >= 1 && total >= 1))
      throw new Error(`${budget} caps must be at least 1, got ${perClient}/${total}`);
  }
  const budgets: Record<Budget, SlotBudget> = {
    streams: shared.streams ?? createLocalBudget(options.streams),
    calls: createLocalBudget(options.calls),
  };

  const gate = (choose: (ctx: AppContext) => Budget | undefined): Middleware<RequestState> => {
    return async (ctx, next) => {
      const budget = choose(ctx);
      if (budget === undefined) return next();
      const taken = await budgets[budget].acquire(clientKey(ctx.state.ip, ctx.state.caller?.name));
      if (typeof taken === 'string') {
        options.onRefused?.({ budget, scope: taken });
        const cap = options[budget];
        ctx.set('Retry-After', String(RETRY_AFTER_SECONDS[budget]));
        throw refusal(budget, taken, taken === 'client' ? cap.perClient : cap.total);
      }
      // `close` fires once the response is done or the client is gone; it may already have fired.
      if (ctx.res.closed) taken();
      else onClose(ctx.res, taken);
      return next();
    };
  };

  return {
    gate(id) {
      // `POST /mcp` is decided per request; every other operation once, here.
      if (id === 'postMcp') return gate((ctx) => budgetOf(id, ctx.get('Mcp-Method')));
      const budget = budgetOf(id, '');
      return budget === undefined ? undefined : gate(() => budget);
    },
    open: (budget) => budgets[budget].open,
  };
}
