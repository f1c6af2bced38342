/**
 * `/v1/events` across two real servers on one repository and one real `redis-server` (as two instances behind a
 * proxy): a stream on one sees a change opened through the other; when Redis is killed, tool calls go on, `/readyz`
 * reads `eventBus: "degraded"`, the stream gets `unavailable` and ends; once Redis is back, a reconnect with
 * `Last-Event-ID` (as `EventSource` sends it) replays what the client missed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { startServer, type TestServer } from './helpers/server.js';
import { within } from './helpers/within.js';

interface SseEvent {
  event?: string;
  id?: string;
  data?: string;
}

/** An open `/v1/events` stream that parses events as they arrive. */
interface Feed {
  /** Resolves with the events so far once one matches. */
  until(what: string, match: (e: SseEvent) => boolean): Promise<SseEvent[]>;
  /** Resolves with every event once the server has ended the stream. */
  ended(): Promise<SseEvent[]>;
  close(): Promise<void>;
}

const slugOf = (e: SseEvent): string | undefined =>
  e.data ? (JSON.parse(e.data) as { slug?: string }).slug : undefined;

async function openFeed(s: TestServer, lastEventId?: string): Promise<Feed> {
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
  const res = await s.authed('/v1/events', { headers });
  assert.equal(res.status, 200);
  const events: SseEvent[] = [];
  let finished = false;
  const changed = new EventEmitter();
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const reading = (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) break;
      const blocks = (buffer + value).split('\n\n');
      buffer = blocks.pop()!;
      for (const block of blocks.filter((b) => b.includes('event:'))) events.push(parseEvent(block));
      changed.emit('change');
    }
    finished = true;
    changed.emit('change');
    return events;
  })();
  const until = (what: string, match: (e: SseEvent) => boolean): Promise<SseEvent[]> =>
    within(
      10_000,
      what,
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!events.some(match) && !finished) return;
          changed.off('change', check);
          if (events.some(match)) resolve([...events]);
          else reject(new Error(`${what}: the stream ended first`));
        };
        changed.on('change', check);
        check();
      }),
    );
  return {
    until,
    ended: () => within(10_000, 'the stream to end', reading),
    close: () => reader.cancel(),
  };
}

/** One SSE event block as its fields. */
const parseEvent = (block: string): SseEvent =>
  Object.fromEntries(
    block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
  ) as SseEvent;

const open = async (s: TestServer, slug: string): Promise<void> => {
  const res = await s.authed('/v1/tools/change_open/invoke', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ title: slug, slug }),
  });
  assert.equal(res.status, 200, await res.text());
};

/** `/readyz` until its `eventBus` check reads `state` (Redis connects and drops asynchronously); still 200. */
async function eventBusBecomes(s: TestServer, state: 'ok' | 'degraded'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const res = await s.fetch(`${s.url}/readyz`);
    const body = (await res.json()) as { checks?: Record<string, string> };
    if (body.checks?.eventBus === state) return assert.equal(res.status, 200);
    await sleep(50);
  }
  assert.fail(`eventBus never became ${state}`);
}

describe('/v1/events across two servers on one Redis', () => {
  let dir: string;
  let redis: TestRedis;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'task-mcp-redis-aof-'));
    redis = await startRedis(undefined, { persistIn: dir });
    a = await startServer({ env: { REDIS_URL: redis.url } });
    b = await startServer({ env: { REDIS_URL: redis.url }, repo: a.repo });
    await Promise.all([eventBusBecomes(a, 'ok'), eventBusBecomes(b, 'ok')]);
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a stream on server A receives a change opened through server B, with a stream id', async () => {
    const feed = await openFeed(a);
    await open(b, 'across-instances');
    const events = await feed.until('the change', (e) => slugOf(e) === 'across-instances');
    const event = events.find((e) => slugOf(e) === 'across-instances')!;
    assert.equal(event.event, 'change.opened');
    assert.match(event.id!, /^[0-9]+-[0-9]+$/);
    assert.equal((JSON.parse(event.data!) as { actor: string }).actor, 'alice');
    await feed.close();
  });

  test('Redis killed: calls go on, readiness degraded, the stream told and ended; back: Last-Event-ID replays', async () => {
    const feed = await openFeed(a);
    await open(b, 'before-kill');
    const seen = await feed.until('the change', (e) => slugOf(e) === 'before-kill');
    const lastId = seen.at(-1)!.id!;

    await redis.kill();
    const all = await feed.ended();
    assert.deepEqual(
      [all.at(-1)?.event, all.at(-1)?.id],
      ['unavailable', lastId],
      'the last event says why, and keeps the position',
    );
    await Promise.all([eventBusBecomes(a, 'degraded'), eventBusBecomes(b, 'degraded')]);
    await open(b, 'while-down');
    // A reconnect while Redis is away is told at once.
    const early = await (await openFeed(a, lastId)).ended();
    assert.deepEqual(
      early.map((e) => [e.event, e.id]),
      [['unavailable', lastId]],
    );

    redis = await startRedis(redis.port, { persistIn: dir });
    await Promise.all([eventBusBecomes(a, 'ok'), eventBusBecomes(b, 'ok')]);
    const resumed = await openFeed(a, lastId);
    const replayed = await resumed.until('the change made while down', (e) => slugOf(e) === 'while-down');
    assert.deepEqual(
      replayed.map((e) => [e.event, slugOf(e)]),
      [['change.opened', 'while-down']],
    );
    await resumed.close();
  });
});
