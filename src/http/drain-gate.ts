/**
 * Requests during a drain. The listener stays open while tool calls finish, so probes keep answering (readiness
 * says 503 `draining`) rather than the port going dark; every other request gets 503 EUNAVAILABLE with
 * `Retry-After`, which a proxy treats as "try another instance". Except the event feed: `EventSource` gives up
 * for good on a 503 but reconnects after a stream that ends, so a feed opened now is served and at once gets the
 * final word every open feed got. Every answer closes its connection, so the drain is not held up by keep-alive.
 */
import type { Middleware } from 'koa';
import { TaskError } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import type { RequestState } from './handler.js';

/** Seconds a refused client is told to wait: about what a restart takes, and nothing to one that goes elsewhere. */
export const DRAIN_RETRY_AFTER_SECONDS = 2;

/** Lets the paths in `served` through a drain and refuses the rest. */
export function drainGate(lifecycle: Pick<Lifecycle, 'draining'>, served: readonly string[]): Middleware<RequestState> {
  return (ctx, next) => {
    if (!lifecycle.draining) return next();
    ctx.set('Connection', 'close');
    if (served.includes(ctx.path)) return next();
    ctx.set('Retry-After', String(DRAIN_RETRY_AFTER_SECONDS));
    throw new TaskError('EUNAVAILABLE', 'The server is shutting down and takes no new requests.', {
      hint: 'Retry: another instance, or this one once restarted, will serve it.',
      details: { retryAfter: DRAIN_RETRY_AFTER_SECONDS },
    });
  };
}
