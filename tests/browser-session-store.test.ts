/**
 * A browser on a cookie session while the session store (Redis) is down: real Chromium follows `/v1/events` with
 * `EventSource` and its cookie, Redis is killed (SIGKILL to its PID) and started again. A cookie cannot be checked
 * meanwhile, so no data may reach it; but `EventSource` gives up for good on an error status, so the feed answers
 * 200 with `retry:` and one `unavailable` event and ends, and the browser keeps reconnecting until Redis is back.
 *
 * Needs Chromium and redis-server (see README).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright';
import {
  callPage,
  CLOSED,
  closePage,
  feedState,
  launchChromium,
  OPEN,
  servePage,
  type TestPage,
} from './helpers/chromium.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';
import { testCertificate } from './helpers/tls.js';
import { until } from './helpers/within.js';

/** The whole answer a cookie stream gets while its cookie cannot be checked. */
const COME_BACK = /^retry: 3000\n\nevent: unavailable\ndata: \{"type":"unavailable","at":"[^"]+"\}\n\n$/;

describe('browser: a cookie feed while the session store is down (Chromium)', () => {
  let redis: TestRedis;
  let s: TestServer;
  let page: TestPage;
  let browser: Browser;
  let context: BrowserContext | undefined;

  /** Polls `/readyz` until the session store and the event bus both read `state`. */
  const storesBecome = (state: 'ok' | 'degraded') =>
    until(15_000, `the Redis stores becoming ${state}`, async () => {
      const res = await s.fetch(`${s.url}/readyz`);
      const { checks } = (await res.json()) as { checks?: Record<string, string> };
      return checks?.sessionStore === state && checks?.eventBus === state;
    });

  before(async () => {
    const cert = await testCertificate();
    redis = await startRedis();
    page = await servePage(cert);
    s = await startServer({ env: { CORS_ORIGINS: page.origin, REDIS_URL: redis.url } });
    await storesBecome('ok');
    browser = await launchChromium(cert.cert);
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await closePage(page);
    await s?.stop();
    await redis?.stop();
  });

  test('EventSource is told `unavailable` (no data) and keeps reconnecting; once Redis is back it follows the feed again', async () => {
    context = await browser.newContext();
    const tab = await context.newPage();
    tab.setDefaultTimeout(15_000);
    await tab.goto(`${page.origin}/?api=${encodeURIComponent(s.url)}`);
    assert.equal(await callPage(tab, 'login', TOKENS.alice), 200);

    await redis.kill();
    await storesBecome('degraded');
    const raw = await callPage(tab, 'openRawStream');
    await tab.waitForFunction(`window.taskMcp.rawStream(${raw}).text.includes('event: unavailable')`);
    const { status, text } = await callPage(tab, 'rawStream', raw);
    assert.equal(status, 200);
    assert.match(text, COME_BACK, 'nothing but the word to come back');

    const feed = await callPage(tab, 'openEventSource');
    const told = await feedState(tab, feed, 'f.errors >= 2');
    assert.notEqual(told.readyState, CLOSED, 'EventSource did not give up');
    assert.ok(told.events.length >= 2, 'told on each reconnect');
    assert.deepEqual(
      told.events.map((e) => [e.event, e.id]),
      told.events.map(() => ['unavailable', '']),
      'only `unavailable`, with no id',
    );

    const opened = () => s.logs().filter((line) => line.msg === 'event stream opened').length;
    const before = opened();
    redis = await startRedis(redis.port);
    await storesBecome('ok');
    // Its next reconnect passes the cookie check and subscribes: the server logs the stream it serves.
    await until(15_000, 'the EventSource served again', () => opened() > before);
    const res = await s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ title: 'After the outage', slug: 'after-the-outage' }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const state = await feedState(tab, feed, `f.events.some((e) => e.event === 'change.opened')`);
    assert.equal(state.readyState, OPEN);
    assert.deepEqual(state.events.at(-1)?.data.slug, 'after-the-outage');
    await callPage(tab, 'closeEventSource', feed);
  });
});
