/**
 * Caps on what a client holds open. A rate window counts requests, not how long they hold the server, so two
 * budgets bound that, each per client (IP plus token name) and per instance:
 *
 * - `streams`: long-lived streams that stay open until the client leaves (`GET /v1/events`, `GET /sse`);
 * - `calls`: exchanges that end with their answer, however it is framed (every tool invoke, JSON, SSE or
 *   NDJSON, and every `POST /mcp`: MCP clients all accept SSE, which makes an exchange no more a held stream).
 *
 * Kept apart, idle event streams cannot shut a client out of MCP, nor a flood of calls out of its event feed.
 * Past a cap the request is refused with ERATELIMIT (429, `Retry-After`) before its body is read. A slot is
 * released exactly once, when the response closes, however it ends.
 */
import type { Middleware } from 'koa';
import type { OperationId } from '../../generated/operations.gen.js';
import { TaskError } from '../errors.js';
import { clientKey } from './client-ip.js';
import { holdsStream, streamsAnAnswer } from './media.js';
import type { RequestState } from './handler.js';

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
  /** Slots of `budget` taken now. */
  open(budget: Budget): number;
}

/** Which budget an operation's requests draw on, from the media types it answers in (see media.ts). */
function budgetOf(id: OperationId): Budget | undefined {
  if (holdsStream(id)) return 'streams';
  return streamsAnAnswer(id) ? 'calls' : undefined;
}

/** How long, as far as the client can tell, a slot stays taken after a refusal: a hint, not a promise. */
const RETRY_AFTER_SECONDS: Record<Budget, number> = { streams: 5, calls: 1 };

const WHAT: Record<Budget, { many: string; fix: string }> = {
  streams: { many: 'open event streams', fix: 'close one first' },
  calls: { many: 'calls in flight', fix: 'wait for one to finish' },
};

/** One budget: slots per client key and in all. */
function createBudget({ perClient, total }: Cap) {
  const perKey = new Map<string, number>();
  let open = 0;
  return {
    get open() {
      return open;
    },
    /** Takes a slot for `key`: the function that gives it back (idempotent), or which cap is full. */
    acquire(key: string): (() => void) | 'client' | 'instance' {
      const mine = perKey.get(key) ?? 0;
      if (mine >= perClient) return 'client';
      if (open >= total) return 'instance';
      perKey.set(key, mine + 1);
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
    },
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

export function createStreamCaps(options: StreamCapsOptions): StreamCaps {
  for (const budget of ['streams', 'calls'] as const) {
    const { perClient, total } = options[budget];
    if (!(perClient >= 1 && total >= 1))
      throw new Error(`${budget} caps must be at least 1, got ${perClient}/${total}`);
  }
  const budgets = { streams: createBudget(options.streams), calls: createBudget(options.calls) };

  const gate = (budget: Budget): Middleware<RequestState> => {
    return (ctx, next) => {
      const taken = budgets[budget].acquire(clientKey(ctx.state.ip, ctx.state.caller?.name));
      if (typeof taken === 'string') {
        options.onRefused?.({ budget, scope: taken });
        const cap = options[budget];
        ctx.set('Retry-After', String(RETRY_AFTER_SECONDS[budget]));
        throw refusal(budget, taken, taken === 'client' ? cap.perClient : cap.total);
      }
      // `close` fires once the response is done or the client is gone; it may already have fired.
      if (ctx.res.closed) taken();
      else ctx.res.once('close', taken);
      return next();
    };
  };

  return {
    gate: (id) => {
      const budget = budgetOf(id);
      return budget === undefined ? undefined : gate(budget);
    },
    open: (budget) => budgets[budget].open,
  };
}
