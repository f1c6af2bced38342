/**
 * Three instances of the real server (child processes) on one repository and one real `redis-server`, behind the
 * shipped nginx recipe with an upstream of three (round-robin, no stickiness): what is shared across instances
 * holds. Real Chromium follows the feed through nginx with its cookie session, undici's `EventSource` with a
 * bearer token; changes are made straight at chosen instances, so "through another instance" is certain. The
 * instances are shared by the tests, which run in order: the failover test restarts the instance it kills, the
 * Redis test comes last.
 *
 * Needs nginx, redis-server and Chromium (see README).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright';
import { Agent, EventSource } from 'undici';
import { DEFAULT_STREAM_KEY } from '../src/events/redis-feed.js';
import { callPage, closePage, feedState, launchChromium, OPEN, servePage, type TestPage } from './helpers/chromium.js';
import { inStreamOrder } from './helpers/redis.js';
import { startScaleOut, type ScaleOut } from './helpers/scale-out.js';
import type { Line } from './helpers/server-process.js';
import { TOKENS } from './helpers/server.js';
import { testCertificate } from './helpers/tls.js';
import { within } from './helpers/within.js';

/** RATE_LIMIT_SUSTAINED's count: a client's whole budget, whichever instances it spends it on. */
const BUDGET = 100;

describe('scale-out: three instances behind nginx on one Redis', () => {
  let scale: ScaleOut;
  let page: TestPage;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    const cert = await testCertificate();
    page = await servePage(cert);
    scale = await startScaleOut({
      env: { CORS_ORIGINS: page.origin, RATE_LIMIT_BURST: '1000/1s', RATE_LIMIT_SUSTAINED: `${BUDGET}/1h` },
    });
    browser = await launchChromium(cert.cert);
  });
  after(async () => {
    for (const context of contexts.splice(0)) await context.close();
    await browser?.close();
    await closePage(page);
    await scale?.stop();
  });

  /** A fresh browser profile with the test page open, signed in through nginx as alice. */
  async function signedInPage(): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    const tab = await context.newPage();
    tab.setDefaultTimeout(15_000);
    await tab.goto(`${page.origin}/?api=${encodeURIComponent(scale.url)}`);
    assert.equal(await callPage(tab, 'login', TOKENS.alice), 200);
    return tab;
  }

  /** Opens `slug` as alice straight at `base` (an instance's own URL); the response's status and body. */
  async function openChange(
    base: string,
    slug: string,
    extra: object = {},
  ): Promise<[number, Record<string, unknown>]> {
    const res = await scale.authed(base, '/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ title: `Scaled ${slug}`, slug, ...extra }),
    });
    return [res.status, (await res.json()) as Record<string, unknown>];
  }
  const opened = async (base: string, slug: string): Promise<void> =>
    assert.deepEqual((await openChange(base, slug))[0], 200, `${slug} opened at ${base}`);

  /** Where each instance's log stands now. */
  const marks = (): number[] => scale.instances.map((instance) => instance.proc.lines().length);

  /** The instance that logs the next `event stream opened` after `from`, and that line. */
  const streamOpenedOn = (from: number[]): Promise<{ index: number; line: Line }> =>
    within(
      15_000,
      'an instance taking the stream',
      Promise.any(
        scale.instances.map(async (instance, index) => ({
          index,
          line: await instance.proc.line((l) => l.msg === 'event stream opened', 'the stream', { from: from[index] }),
        })),
      ),
    );

  /** An EventSource through nginx, opened; returns its index in the page and the instance holding it. */
  async function followFeed(tab: Page): Promise<{ feed: number; holder: number }> {
    const from = marks();
    const feed = await callPage(tab, 'openEventSource');
    await feedState(tab, feed, 'f.opened');
    return { feed, holder: (await streamOpenedOn(from)).index };
  }

  const slugs = (events: Array<{ data: Record<string, unknown> }>): unknown[] => events.map((e) => e.data.slug);

  test('an EventSource in Chromium, through nginx, receives the changes made through the other two, in order and once', async () => {
    const tab = await signedInPage();
    const { feed, holder } = await followFeed(tab);
    const others = scale.instances.filter((_, n) => n !== holder);
    const made = ['fan-0', 'fan-1', 'fan-2', 'fan-3', 'fan-4', 'fan-5'];
    for (const [i, slug] of made.entries()) await opened(others[i % 2]!.url, slug);
    // One more through its own instance: whatever came before it has all arrived, duplicates included.
    await opened(scale.instances[holder]!.url, 'fan-own');
    const state = await feedState(tab, feed, `f.events.some((e) => e.data.slug === 'fan-own')`);
    assert.deepEqual(slugs(state.events), [...made, 'fan-own']);
    assert.ok(
      state.events.every((e) => e.event === 'change.opened'),
      'change.opened each',
    );
    assert.ok(
      inStreamOrder(state.events.map((e) => e.id)),
      `ids in the stream's order: ${state.events.map((e) => e.id)}`,
    );
    assert.deepEqual({ readyState: state.readyState, errors: state.errors }, { readyState: OPEN, errors: 0 });
    await callPage(tab, 'closeEventSource', feed);
  });

  test('its instance killed (SIGKILL), the EventSource lands on another with its Last-Event-ID and misses nothing', async () => {
    const tab = await signedInPage();
    const { feed, holder } = await followFeed(tab);
    const [first, second] = scale.instances.filter((_, n) => n !== holder).map((instance) => instance.url) as [
      string,
      string,
    ];
    await opened(first, 'failover-before');
    const seen = await feedState(tab, feed, `f.events.some((e) => e.data.slug === 'failover-before')`);
    const lastId = seen.events.at(-1)!.id;

    const from = marks();
    await scale.instances[holder]!.kill();
    await opened(first, 'failover-1');
    await opened(second, 'failover-2');
    const state = await feedState(tab, feed, `f.events.some((e) => e.data.slug === 'failover-2')`);
    assert.deepEqual(slugs(state.events), ['failover-before', 'failover-1', 'failover-2']);
    assert.ok(inStreamOrder(state.events.map((e) => e.id)));
    assert.ok(state.errors >= 1, 'the stream broke and EventSource reconnected');
    const resumed = await streamOpenedOn(from);
    assert.notEqual(resumed.index, holder);
    assert.equal(resumed.line.lastEventId, lastId, 'the reconnect resumed from the last event it had');
    await callPage(tab, 'closeEventSource', feed);
    await scale.instances[holder]!.restart();
  });

  test('20 concurrent opens of one slug spread over the instances: one creator holds the lock, 19 get ELOCKED, one whole change', async () => {
    const slug = 'race-scaled';
    const owners = Array.from({ length: 20 }, (_, i) => `alice/agent-${i}`);
    const results = await Promise.all(
      owners.map((owner, i) =>
        openChange(scale.instances[i % 3]!.url, slug, {
          owner,
          title: `Race by ${owner}`,
          rationale: `Opened by ${owner}.`,
        }),
      ),
    );
    const won = results.filter(([status]) => status === 200).map(([, body]) => body);
    assert.equal(won.length, 1, JSON.stringify(results.map(([status, body]) => [status, body.code])));
    assert.equal(won[0]!.created, true);
    const lost = results.filter(([status]) => status !== 200);
    assert.deepEqual(
      lost.map(([status, body]) => [status, body.code]),
      Array(19).fill([409, 'ELOCKED']),
    );
    const winner = (won[0]!.lock as { owner: string }).owner;
    const dir = path.join(scale.repoRoot, 'openspec/changes', slug);
    assert.equal((JSON.parse(await readFile(path.join(dir, '.lock'), 'utf8')) as { owner: string }).owner, winner);
    const proposal = await readFile(path.join(dir, 'proposal.md'), 'utf8');
    assert.ok(proposal.startsWith(`# Race by ${winner}\n`) && proposal.includes(`Opened by ${winner}.`), proposal);
    assert.equal(proposal.match(/Opened by /g)?.length, 1, 'one proposal, not two written over each other');
    const direct = new Redis(scale.redis.url);
    try {
      const entries = await direct.xrange(DEFAULT_STREAM_KEY, '-', '+');
      const events = entries.map(([, fields]) => JSON.parse(fields[1]!) as { type: string; slug: string });
      assert.deepEqual(
        events.filter((e) => e.slug === slug).map((e) => e.type),
        ['change.opened'],
      );
    } finally {
      direct.disconnect();
    }
  });

  test('the rate limit is one budget across the instances', async () => {
    // The test stands in for the proxy (TRUST_PROXY=1): its X-Forwarded-For makes a client of its own.
    const call = async (base: string): Promise<[number, unknown]> => {
      const res = await scale.authed(base, '/v1/tools/nope/invoke', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '203.0.113.50' },
        body: '{}',
      });
      return [res.status, ((await res.json()) as { code?: string }).code];
    };
    const spent: Array<[number, unknown]> = [];
    for (let i = 0; i < BUDGET; i++) spent.push(await call(scale.instances[i % 3]!.url));
    assert.deepEqual(spent, Array(BUDGET).fill([404, 'ENOTFOUND']));
    const past: Array<[number, unknown]> = [];
    for (const instance of scale.instances) past.push(await call(instance.url));
    assert.deepEqual(past, Array(3).fill([429, 'ERATELIMIT']));
  });

  test('a cookie session signed out on one instance is refused by every instance', async () => {
    const res = await scale.authed(scale.url, '/v1/session', { method: 'POST' });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    const openWith = async (base: string): Promise<[number, unknown?]> => {
      const feed = await scale.fetch(`${base}/v1/events`, { headers: { Cookie: cookie } });
      if (feed.status === 200) return (await feed.body?.cancel(), [200]);
      return [feed.status, ((await feed.json()) as { code: string }).code];
    };
    const urls = scale.instances.map((instance) => instance.url);
    assert.deepEqual(await Promise.all(urls.map(openWith)), [[200], [200], [200]], 'one COOKIE_SECRET: every one');
    const out = await scale.fetch(`${urls[1]}/v1/session`, { method: 'DELETE', headers: { Cookie: cookie } });
    assert.equal(out.status, 204);
    assert.deepEqual(await Promise.all(urls.map(openWith)), Array(3).fill([401, 'EAUTH']));
  });

  test('Redis killed and restarted mid-run: the feed client gets every change, made before, during and after, once', async () => {
    const { cert } = await testCertificate();
    const authorization = `Bearer ${scale.token}`;
    const dispatcher = new Agent({ connect: { ca: cert } }).compose(
      (dispatch) => (options, handler) =>
        dispatch({ ...options, headers: { ...(options.headers as Record<string, string>), authorization } }, handler),
    );
    const source = new EventSource(`${scale.url}/v1/events`, { node: { dispatcher } });
    const events: Array<{ type: string; id: string; slug?: string }> = [];
    const waiters = new Set<() => void>();
    const record = (event: Event): void => {
      const e = event as MessageEvent<string>;
      events.push({ type: e.type, id: e.lastEventId, slug: (JSON.parse(e.data) as { slug?: string }).slug });
      for (const wake of waiters) wake();
    };
    for (const type of ['change.opened', 'unavailable', 'reset']) source.addEventListener(type, record);
    const until = (what: string, done: () => boolean): Promise<void> =>
      within(
        20_000,
        what,
        new Promise<void>((resolve) => {
          const wake = (): void => void (done() && (waiters.delete(wake), resolve()));
          waiters.add(wake);
          wake();
        }),
      );
    const has = (slug: string) => () => events.some((e) => e.slug === slug);
    try {
      await within(10_000, 'the EventSource to open', new Promise((resolve) => (source.onopen = resolve)));
      const [a, b, c] = scale.instances.map((instance) => instance.url) as [string, string, string];
      await opened(a, 'redis-before');
      await until('redis-before', has('redis-before'));

      await scale.killRedis();
      await until('the unavailable event', () => events.some((e) => e.type === 'unavailable'));
      for (const [base, slug] of [
        [a, 'redis-down-a'],
        [b, 'redis-down-b'],
        [c, 'redis-down-c'],
      ] as const) {
        await opened(base, slug);
      }
      await scale.restartRedis();
      await until('the changes made while Redis was away', () =>
        ['redis-down-a', 'redis-down-b', 'redis-down-c'].every((slug) => has(slug)()),
      );
      await opened(b, 'redis-after');
      await until('redis-after', has('redis-after'));

      const changes = events.filter((e) => e.type === 'change.opened');
      assert.deepEqual(
        [
          changes[0]?.slug,
          changes
            .slice(1, 4)
            .map((e) => e.slug)
            .sort(),
          changes[4]?.slug,
          changes.length,
        ],
        ['redis-before', ['redis-down-a', 'redis-down-b', 'redis-down-c'], 'redis-after', 5],
      );
      assert.ok(inStreamOrder(changes.map((e) => e.id)), `one order: ${changes.map((e) => e.id)}`);
      assert.deepEqual(
        events.filter((e) => e.type !== 'change.opened').map((e) => [e.type, e.id]),
        events.filter((e) => e.type === 'unavailable').map(() => ['unavailable', changes[0]!.id]),
        'told unavailable (at its position) while Redis was away, and never reset',
      );
    } finally {
      source.close();
      await dispatcher.close();
    }
  });
});
