/**
 * MCP change notifications, fed by the change feed: one `ServerEventBus` per process follows the feed (with
 * `REDIS_URL` the Redis stream, so it carries every instance's changes) and hands each change, as the SDK's
 * `ServerEvent`s, to the `subscriptions/listen` streams of 2026-07-28 and to the HTTP+SSE sessions that asked
 * with `resources/subscribe`. What a change means for the resources:
 *
 * - every change event (opened, resumed: its lock taken again, lock released, archived): `changes://active`
 *   changed, so `notifications/resources/list_changed` and `notifications/resources/updated` for it;
 * - `change.opened` and `change.archived` (its receipt written, its files moved to the archive): also `updated`
 *   for the change's proposal and tasks, and on archive its receipt;
 * - a `reset` (events were lost while Redis was away): what changed is unknown, so `list_changed` and `updated`
 *   for `changes://active`: a client reads them again.
 *
 * A feed that loses its bus ends the subscription with `unavailable`; this bus then follows it again, from the
 * last entry it had, once the bus is back: the replay brings what was missed, so listeners lose nothing the
 * feed still holds, and their streams stay open meanwhile.
 */
import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import { FIXED_RESOURCE_URIS, RESOURCE_URIS } from '../../generated/resources.gen.js';
import type { FeedEvent } from '../../generated/types.gen.js';
import type { EventFeed } from '../events/feed.js';

/** How long to wait before following a feed again that said its bus is unavailable. */
const REFOLLOW_MS = 1000;

const ACTIVE = FIXED_RESOURCE_URIS['active-changes'];

const updated = (uri: string): ServerEvent => ({ kind: 'resource_updated', uri });

/** The notifications a feed event makes. */
export function notificationsOf(event: FeedEvent): ServerEvent[] {
  if (event.type === 'unavailable') return [];
  const listing: ServerEvent[] = [{ kind: 'resources_list_changed' }, updated(ACTIVE)];
  if (event.type !== 'change.opened' && event.type !== 'change.archived') return listing;
  const { slug } = event;
  const own = [RESOURCE_URIS['change-proposal']({ slug }), RESOURCE_URIS['change-tasks']({ slug })];
  if (event.type === 'change.archived') own.push(RESOURCE_URIS['change-receipt']({ slug }));
  return [...listing, ...own.map(updated)];
}

export interface ChangeBus extends ServerEventBus {
  /** Stops following the feed and forgets every listener. */
  close(): void;
}

export interface ChangeBusOptions {
  /** Told about a listener that threw; the others still get the event. */
  onListenerError?: (err: unknown) => void;
  refollowMs?: number;
}

/** A bus over `feed`, following it from its first listener on. */
export function createChangeBus(feed: EventFeed, options: ChangeBusOptions = {}): ChangeBus {
  const { onListenerError, refollowMs = REFOLLOW_MS } = options;
  const listeners = new Set<(event: ServerEvent) => void>();
  /** The id of the last feed entry followed: where to resume after the feed's bus was away. */
  let last: string | undefined;
  let unfollow: (() => void) | undefined;
  let refollow: NodeJS.Timeout | undefined;
  let closed = false;

  const publish = (event: ServerEvent): void => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (err) {
        onListenerError?.(err);
      }
    }
  };

  const follow = (): void => {
    unfollow = feed.subscribe(last, (entry) => {
      // An `unavailable` entry's id is where this subscriber stood: the replay starts after it.
      last = entry.id;
      if (entry.event.type !== 'unavailable') return notificationsOf(entry.event).forEach(publish);
      if (closed) return;
      clearTimeout(refollow);
      refollow = setTimeout(follow, refollowMs);
      refollow.unref();
    });
  };

  return {
    publish,
    subscribe(listener) {
      // The feed is followed from the first listener on: a process nobody listens to pays nothing per event.
      if (unfollow === undefined && !closed) follow();
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      closed = true;
      clearTimeout(refollow);
      unfollow?.();
      listeners.clear();
    },
  };
}
