/**
 * Redis event feeds for a test, as the instances of a deployment would have them, with subscribers that record
 * what they get; a test waits on what a feed logs or a subscriber receives, with a deadline, never on a timer.
 */
import { EventEmitter, once } from 'node:events';
import type { ChangeEvent } from '../../generated/types.gen.js';
import type { FeedEntry } from '../../src/events/feed.js';
import { createRedisEventFeed, type RedisEventFeed } from '../../src/events/redis-feed.js';
import { within } from './within.js';

/** How long a test waits for the bus (a reconnect takes up to 2 s of backoff). */
export const BUS_MS = 10_000;

export const opened = (slug: string): ChangeEvent => ({
  type: 'change.opened',
  slug,
  actor: 'alice',
  at: new Date().toISOString(),
});

/** The slug of a change event; the type of any other. */
export const label = (entry: FeedEntry): string => ('slug' in entry.event ? entry.event.slug : entry.event.type);

export interface Recorder {
  readonly entries: FeedEntry[];
  listener: (entry: FeedEntry) => void;
  /** Resolves with the entries once `done` holds for them. */
  until(what: string, done: (entries: FeedEntry[]) => boolean): Promise<FeedEntry[]>;
  /** Resolves with the entries once there are `count`. */
  count(count: number): Promise<FeedEntry[]>;
  /** Resolves with the entry labelled `name` (see `label`) once it has arrived. */
  entry(name: string): Promise<FeedEntry>;
}

/** A subscriber that records every entry it gets. */
export function recorder(): Recorder {
  const entries: FeedEntry[] = [];
  const arrived = new EventEmitter();
  const until = (what: string, done: (entries: FeedEntry[]) => boolean): Promise<FeedEntry[]> =>
    within(
      BUS_MS,
      what,
      new Promise((resolve) => {
        const check = (): void => {
          if (!done(entries)) return;
          arrived.off('entry', check);
          resolve([...entries]);
        };
        arrived.on('entry', check);
        check();
      }),
    );
  return {
    entries,
    listener: (entry) => {
      entries.push(entry);
      arrived.emit('entry');
    },
    until,
    count: (count) => until(`${count} entries`, (seen) => seen.length >= count),
    entry: (name) =>
      until(name, (seen) => seen.some((e) => label(e) === name)).then((seen) => seen.find((e) => label(e) === name)!),
  };
}

export interface TestBus {
  feed: RedisEventFeed;
  /** Every message the feed logged. */
  readonly logged: string[];
  /** Resolves once the bus is up (at once if it is). */
  up(): Promise<void>;
  /** Resolves once the bus is down (at once if it is). */
  down(): Promise<void>;
  /** Resolves once `done` holds for what the feed has logged. */
  logs(what: string, done: (logged: string[]) => boolean): Promise<void>;
}

/** A Redis feed on `url` (one per simulated instance); close it with `feed.close()`. */
export function testBus(url: string, ringSize = 100): TestBus {
  const log = new EventEmitter();
  const logged: string[] = [];
  const record = (obj: object | string, msg?: string): void => {
    const text = typeof obj === 'string' ? obj : (msg ?? '');
    logged.push(text);
    log.emit('line', text);
  };
  const feed = createRedisEventFeed({ url, ringSize, logger: { info: record, warn: record } });
  /** The state changes only when the feed logs, so: check, and check again after each line. */
  const reaches = (state: 'ok' | 'degraded'): Promise<void> =>
    within(
      BUS_MS,
      `the event bus ${state}`,
      (async () => {
        for (;;) {
          const line = once(log, 'line');
          if ((await feed.checks.eventBus()) === state) return;
          await line;
        }
      })(),
    );
  const logs = (what: string, done: (logged: string[]) => boolean): Promise<void> =>
    within(
      BUS_MS,
      what,
      new Promise((resolve) => {
        const check = (): void => {
          if (!done(logged)) return;
          log.off('line', check);
          resolve();
        };
        log.on('line', check);
        check();
      }),
    );
  return { feed, logged, up: () => reaches('ok'), down: () => reaches('degraded'), logs };
}
