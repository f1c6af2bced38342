/**
 * The local subscribers of a shared-bus feed. Each has a position, the stream id of the last entry it got, and
 * takes only entries after it, so an entry that reaches it twice (from its replay and again from the live read)
 * is delivered once. While its replay is being read, live entries are held back and delivered after it: the
 * replay-then-live handover neither skips nor repeats an entry, and keeps the stream's order.
 */
import type { FeedEntry, FeedListener } from './feed.js';

/** A Redis stream entry id, `<ms>-<seq>`, within the contract's bounds for `Last-Event-ID`. */
const STREAM_ID = /^([0-9]{1,15})-([0-9]{1,15})$/;

/** The position of a subscriber that has none: resuming from it always gets a `reset`. */
export const UNKNOWN_POSITION = '0-0';

/** Whether `id` is a stream entry id this feed can compare. */
export const isStreamId = (id: string): boolean => STREAM_ID.test(id);

/** Whether stream id `a` comes after stream id `b`. */
export function isAfter(a: string, b: string): boolean {
  const [, aMs, aSeq] = STREAM_ID.exec(a) ?? [];
  const [, bMs, bSeq] = STREAM_ID.exec(b) ?? [];
  const msA = Number(aMs);
  const msB = Number(bMs);
  return msA > msB || (msA === msB && Number(aSeq) > Number(bSeq));
}

/** One subscription. */
export interface Subscription {
  /** The id of the last entry it got, or where it started. */
  readonly position: string;
}

/** What a replay found: the entries after the client's id, or a `reset` because that id is not held. */
export type Replay = { entries: FeedEntry[] } | { reset: FeedEntry };

export interface FanOut {
  /** Adds a live subscriber that takes the entries after `position`. */
  add(listener: FeedListener, position: string): Subscription;
  /** Adds a subscriber whose live entries are held until `replayed`; `position` is where it stands meanwhile. */
  addReplaying(listener: FeedListener, position: string): Subscription;
  /** Delivers the replay, then what was held back, and turns the subscriber live. */
  replayed(sub: Subscription, replay: Replay): void;
  /** One entry from the stream, to every subscriber (held for those still replaying). */
  publish(entry: FeedEntry): void;
  /** Ends one subscription with `last(position)`, its final entry. */
  end(sub: Subscription, last: (position: string) => FeedEntry): void;
  /** Ends every subscription, each with `last(position)`. */
  endAll(last: (position: string) => FeedEntry): void;
  remove(sub: Subscription): void;
  /** Forgets every subscription without a word (shutdown: the streams are ending anyway). */
  clear(): void;
}

interface Sub extends Subscription {
  position: string;
  listener: FeedListener;
  /** Live entries that arrived while the replay was read; undefined once live. */
  held: FeedEntry[] | undefined;
}

/** Creates an empty fan-out; a listener that throws is dropped and reported to `onListenerError`. */
export function createFanOut(onListenerError?: (err: unknown) => void): FanOut {
  const subs = new Set<Sub>();

  /** Delivers `entry` unless the subscriber is past it; false when the listener threw and was dropped. */
  const send = (sub: Sub, entry: FeedEntry, force = false): boolean => {
    if (!force) {
      if (!subs.has(sub)) return false; // unsubscribed while its replay was delivered
      if (!isAfter(entry.id, sub.position)) return true;
    }
    sub.position = entry.id;
    try {
      sub.listener(entry);
      return true;
    } catch (err) {
      subs.delete(sub);
      onListenerError?.(err);
      return false;
    }
  };

  const added = (listener: FeedListener, position: string, held: FeedEntry[] | undefined): Sub => {
    const sub: Sub = { listener, position, held };
    subs.add(sub);
    return sub;
  };

  const end = (sub: Sub, last: (position: string) => FeedEntry): void => {
    if (!subs.delete(sub)) return;
    send(sub, last(sub.position), true);
  };

  return {
    add: (listener, position) => added(listener, position, undefined),
    addReplaying: (listener, position) => added(listener, position, []),
    replayed(subscription, replay) {
      const sub = subscription as Sub;
      if (!subs.has(sub) || sub.held === undefined) return;
      // A reset moves the subscriber to the newest id whatever it claimed, even an id "after" every entry.
      const ok = 'reset' in replay ? send(sub, replay.reset, true) : replay.entries.every((e) => send(sub, e));
      const held = sub.held;
      sub.held = undefined;
      if (ok) held.every((entry) => send(sub, entry));
    },
    publish(entry) {
      // A copy, so a listener that unsubscribes (or subscribes) while we deliver cannot disturb the loop.
      for (const sub of [...subs]) {
        if (sub.held) sub.held.push(entry);
        else send(sub, entry);
      }
    },
    end: (sub, last) => end(sub as Sub, last),
    endAll: (last) => [...subs].forEach((sub) => end(sub, last)),
    remove: (sub) => void subs.delete(sub as Sub),
    clear: () => subs.clear(),
  };
}
