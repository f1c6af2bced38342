/**
 * The streams each cookie session holds open (`/v1/events`, `/sse`), so that signing the session out also ends
 * them: a copied cookie must not keep a feed it already opened. A stream is ended by closing its connection; its
 * own cleanup (feed subscription, MCP session, stream slot) runs as for any client that goes away, and
 * `EventSource`'s reconnection is then refused. With `REDIS_URL` a sign-out is told to every instance over the
 * instance bus, and each ends the streams it holds for that session; without it, this instance's are all there are.
 */
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { OperationId } from '../../generated/operations.gen.js';
import type { PubSub } from '../redis-pubsub.js';
import { onClose } from '../streaming/close-hooks.js';
import { holdsStream } from './media.js';
import type { RequestState } from './handler.js';

export interface SessionStreams {
  /** The gate (placed after authentication) recording an operation's cookie-authenticated streams, or undefined. */
  gate(id: OperationId): Middleware<RequestState> | undefined;
  /** Ends every open stream of session `id`, here and (with the bus) on every other instance; how many were here. */
  end(id: string): number;
  /** Stops hearing sign-outs from the other instances. */
  close(): void;
}

export interface SessionStreamsDeps {
  /** The instance bus, with `REDIS_URL`. */
  bus?: Pick<PubSub, 'publish' | 'subscribe'> | undefined;
  logger: Pick<Logger, 'warn'>;
}

/** The broadcast channel of sign-outs. */
const SIGNED_OUT = 'signed-out';

export function createSessionStreams({ bus, logger }: SessionStreamsDeps): SessionStreams {
  const bySession = new Map<string, Set<() => void>>();

  const add = (id: string, end: () => void): (() => void) => {
    const ends = bySession.get(id) ?? new Set();
    bySession.set(id, ends.add(end));
    return () => {
      ends.delete(end);
      if (ends.size === 0 && bySession.get(id) === ends) bySession.delete(id);
    };
  };

  const endHere = (id: string): number => {
    const ends = [...(bySession.get(id) ?? [])];
    bySession.delete(id);
    for (const end of ends) end();
    return ends.length;
  };

  const gate: Middleware<RequestState> = (ctx, next) => {
    const session = ctx.state.caller?.session;
    const res = ctx.res;
    if (session === undefined || res.closed) return next();
    // The ending holds the response, not the context: a session's stream may stay open for hours.
    const forget = add(session, () => res.destroy());
    onClose(res, forget);
    return next();
  };

  const stopHearing = bus?.subscribe(SIGNED_OUT, ({ session }) => {
    if (typeof session === 'string') endHere(session);
  });

  return {
    gate: (id) => (holdsStream(id) ? gate : undefined),
    end(id) {
      // The sign-out is already stored: an instance that misses this ends the stream when it next reconnects.
      bus?.publish(SIGNED_OUT, { session: id }).catch((err: unknown) => {
        logger.warn(
          { err: (err as Error).message },
          'sign-out not told to the other instances; their streams of the session end when they reconnect',
        );
      });
      return endHere(id);
    },
    close: () => stopHearing?.(),
  };
}
