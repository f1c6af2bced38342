/**
 * The streams each cookie session holds open on this instance (`/v1/events`, `/sse`), so that signing the session
 * out also ends them: a copied cookie must not keep a feed it already opened. A stream is ended by closing its
 * connection; its own cleanup (feed subscription, MCP session, stream slot) runs as for any client that goes away,
 * and `EventSource`'s reconnection is then refused.
 */
import type { Middleware } from 'koa';
import type { OperationId } from '../../generated/operations.gen.js';
import { holdsStream } from './media.js';
import type { RequestState } from './handler.js';

export interface SessionStreams {
  /** The gate (placed after authentication) recording an operation's cookie-authenticated streams, or undefined. */
  gate(id: OperationId): Middleware<RequestState> | undefined;
  /** Ends every open stream of session `id`; how many there were. */
  end(id: string): number;
}

export function createSessionStreams(): SessionStreams {
  const bySession = new Map<string, Set<() => void>>();

  const add = (id: string, end: () => void): (() => void) => {
    const ends = bySession.get(id) ?? new Set();
    bySession.set(id, ends.add(end));
    return () => {
      ends.delete(end);
      if (ends.size === 0 && bySession.get(id) === ends) bySession.delete(id);
    };
  };

  const gate: Middleware<RequestState> = (ctx, next) => {
    const session = ctx.state.caller?.session;
    if (session === undefined || ctx.res.closed) return next();
    const forget = add(session, () => ctx.res.destroy());
    ctx.res.once('close', forget);
    return next();
  };

  return {
    gate: (id) => (holdsStream(id) ? gate : undefined),
    end(id) {
      const ends = [...(bySession.get(id) ?? [])];
      bySession.delete(id);
      for (const end of ends) end();
      return ends.length;
    },
  };
}
