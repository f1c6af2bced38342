/**
 * Input limits that no schema can express: how deep a JSON body nests, and how long a JSON tool call may keep
 * its caller waiting.
 */
import type { Middleware } from 'koa';
import { withDeadline } from '../deadline.js';
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

/** Answers ETIMEOUT (503) when the rest of the chain takes longer than `ms` (see withDeadline). */
export function deadline(ms: number, applies: (ctx: AppContext) => boolean): Middleware<RequestState> {
  return (ctx, next) =>
    applies(ctx)
      ? withDeadline(next(), ms, (err) => ctx.state.log.warn({ err }, 'a call failed after its deadline'))
      : next();
}
