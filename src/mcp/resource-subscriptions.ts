/**
 * Resource subscriptions of a sessionful MCP server (the 2024-11-05 HTTP+SSE transport, whatever revision its
 * client negotiated): `resources/subscribe` and `resources/unsubscribe` keep the session's watched URIs, and the
 * change bus (the same one the 2026-07-28 `subscriptions/listen` streams follow) drives what the session is sent:
 * `notifications/resources/updated` for a watched URI, and `notifications/resources/list_changed`, which a server
 * advertising `listChanged` sends to every session, once the session is initialized. A URI may be watched before
 * its change exists (`change://<slug>/proposal` of a change about to be opened); one no template describes is
 * refused as `resources/read` refuses it.
 */
import type { Server, ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import { rpcError } from './contract-server.js';
import { assertServed } from './resources.js';

/** URIs one session may watch at once: a bound on what a client can make the server hold. */
export const MAX_WATCHED_URIS = 100;

/** Serves subscriptions on `server` from `bus` until the server closes; `revision()` numbers its errors. */
export function serveResourceSubscriptions(server: Server, bus: ServerEventBus, revision: () => string): void {
  const watched = new Set<string>();
  let initialized = false;

  server.setRequestHandler('resources/subscribe', ({ params: { uri } }) => {
    assertServed(uri, revision());
    if (!watched.has(uri) && watched.size >= MAX_WATCHED_URIS) {
      throw rpcError(revision(), 'EBADINPUT', `A session watches at most ${MAX_WATCHED_URIS} resources.`, {
        uri,
        hint: 'Unsubscribe from one first, or watch changes://active.',
      });
    }
    watched.add(uri);
    return {};
  });
  server.setRequestHandler('resources/unsubscribe', ({ params: { uri } }) => {
    watched.delete(uri);
    return {};
  });

  const notify = (event: ServerEvent): void => {
    if (!initialized) return;
    // Best effort, as progress is: a session whose stream is going away must not fail the bus.
    if (event.kind === 'resources_list_changed') server.sendResourceListChanged().catch(() => undefined);
    else if (event.kind === 'resource_updated' && watched.has(event.uri)) {
      server.sendResourceUpdated({ uri: event.uri }).catch(() => undefined);
    }
  };
  const stop = bus.subscribe(notify);
  const { oninitialized, onclose } = server;
  server.oninitialized = () => {
    initialized = true;
    oninitialized?.();
  };
  server.onclose = () => {
    stop();
    onclose?.();
  };
}
