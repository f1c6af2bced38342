/**
 * Input limits that no schema can express: how deep a JSON body nests.
 */
import { TaskError } from '../errors.js';

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
