/**
 * Input limits that no schema can express: how deep a JSON body nests, and how long a JSON tool call may keep
 * its caller waiting.
 */
import type { Middleware } from 'koa';
import { TaskError } from '../errors.js';
import type { AppContext, RequestState } from './handler.js';

/** Deeper than any message of the contract or of MCP; deep enough nesting would overflow recursive validators. */
export const MAX_JSON_DEPTH = 32;

/** Throws EBADINPUT when `value` nests deeper than `max`; iterative, so the check itself cannot overflow. */
export function assertJsonDepth(value: unknown, max = MAX_JSON_DEPTH): void {
  const pending: Array<[unknown, number]> = [[value, 1]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) {
      throw new TaskError('EBADINPUT', `The body nests deeper than ${max} levels.`, { details: { maxDepth: max } });
    }
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
}

/**
 * Answers ETIMEOUT (503) when the rest of the chain takes longer than `ms`. The work is not cancelled: a tool
 * call runs to its end in the background (the domain writes a change atomically and journals it, so there is no
 * half-written change to abandon), and whatever it answers late is dropped, since the reply has gone.
 */
export function deadline(ms: number, applies: (ctx: AppContext) => boolean): Middleware<RequestState> {
  const timeout = () =>
    new TaskError('ETIMEOUT', `The call took longer than ${ms} ms.`, {
      hint: 'It may still complete: check its result (e.g. open the change again) before retrying.',
      details: { timeoutMs: ms },
    });
  return async (ctx, next) => {
    if (!applies(ctx)) return next();
    const work = next();
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => ((late = true), reject(timeout())), ms);
    });
    try {
      await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
      // A call that fails after its deadline has nobody left to tell but the log.
      if (late) work.catch((err: unknown) => ctx.state.log.warn({ err }, 'a call failed after its deadline'));
    }
  };
}
