/**
 * The change feed in a real browser: Debian's Chromium, driven by Playwright, loads a page (tests/browser/
 * feed-page.html) from an allowlisted origin, signs in with `fetch(…, { credentials: 'include' })` and follows
 * `/v1/events` with `new EventSource(url, { withCredentials: true })`, as docs/sse_guidelines.md tells browser apps
 * to. Page and API are both on 127.0.0.1 (other ports): Chromium treats 127.0.0.1 and localhost as different
 * sites and would block the cookie as third-party.
 *
 * Chromium trusts the test certificate by its public key (tests/helpers/chromium.ts), so the cookie is set over a
 * connection Chromium considers secure and any other certificate error still fails. Playwright's
 * `ignoreHTTPSErrors` would work too but waves through every error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page, Response } from 'playwright';
import {
  callPage as call,
  CLOSED,
  closePage,
  feedState,
  launchChromium,
  OPEN,
  servePage,
  type TestPage,
} from './helpers/chromium.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';
import { testCertificate } from './helpers/tls.js';
import { until } from './helpers/within.js';

const HEARTBEAT_MS = 200;
/** `MAX_STREAMS_PER_CLIENT`: what a hostile page would try to fill. */
const STREAM_CAP = 3;
const SESSION_COOKIE = 'task_mcp_session';

describe('browser: the change feed over EventSource with the session cookie (Chromium)', () => {
  let s: TestServer;
  let browser: Browser;
  let allowed: TestPage;
  let foreign: TestPage;
  const contexts: BrowserContext[] = [];

  before(async () => {
    const cert = await testCertificate();
    allowed = await servePage(cert);
    foreign = await servePage(cert);
    s = await startServer({
      env: {
        CORS_ORIGINS: allowed.origin,
        HEARTBEAT_MS: String(HEARTBEAT_MS),
        MAX_STREAMS_PER_CLIENT: String(STREAM_CAP),
      },
    });
    browser = await launchChromium(cert.cert);
  });

  after(async () => {
    for (const context of contexts.splice(0)) await context.close();
    await browser?.close();
    await closePage(allowed);
    await closePage(foreign);
    await s?.stop();
  });

  /** A fresh browser profile (cookie jar) with the test page open at `origin`, talking to the API. */
  async function openPage(origin = allowed.origin, context?: BrowserContext): Promise<Page> {
    if (!context) {
      context = await browser.newContext();
      contexts.push(context);
    }
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${origin}/?api=${encodeURIComponent(s.url)}`);
    return page;
  }

  /** Responses of the API's `/v1/events` the page receives from now on. */
  function feedResponses(page: Page): Response[] {
    const seen: Response[] = [];
    page.on('response', (res) => {
      if (res.url() === `${s.url}/v1/events`) seen.push(res);
    });
    return seen;
  }

  /** Requests to the API that fail in the page from now on (CORS refusals among them), as `METHOD path error`. */
  function failedRequests(page: Page): string[] {
    const failed: string[] = [];
    page.on('requestfailed', (req) => {
      if (req.url().startsWith(s.url))
        failed.push(`${req.method()} ${new URL(req.url()).pathname} ${req.failure()?.errorText}`);
    });
    return failed;
  }

  const openChange = async (slug: string): Promise<void> => {
    const res = await s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ slug, title: `Seen in the browser: ${slug}` }),
    });
    assert.equal(res.status, 200, await res.text());
  };

  test('an allowlisted page signs in with fetch and its EventSource receives change.opened; heartbeats flow', async () => {
    const page = await openPage();
    assert.equal(await call(page, 'login', TOKENS.alice), 200);
    const [cookie] = (await page.context().cookies(s.url)).filter((c) => c.name === SESSION_COOKIE);
    assert.ok(cookie, 'the session cookie is in the jar');
    assert.deepEqual(
      { httpOnly: cookie.httpOnly, secure: cookie.secure, sameSite: cookie.sameSite },
      { httpOnly: true, secure: true, sameSite: 'None' },
    );
    assert.equal(await page.evaluate(() => document.cookie), '', 'HttpOnly: the page script cannot read it');

    const feed = await call(page, 'openEventSource');
    const raw = await call(page, 'openRawStream');
    await feedState(page, feed, 'f.opened');
    await page.waitForFunction(`window.taskMcp.rawStream(${raw}).text.startsWith('retry: 3000')`);

    await openChange('browser-feed');
    const state = await feedState(page, feed, `f.events.some((e) => e.event === 'change.opened')`);
    const opened = state.events.find((e) => e.event === 'change.opened');
    assert.deepEqual(
      { slug: opened?.data.slug, actor: opened?.data.actor, type: opened?.data.type },
      { slug: 'browser-feed', actor: 'alice', type: 'change.opened' },
    );
    assert.match(opened?.id ?? '', /^\d+$/, 'the event carries its feed id (lastEventId)');

    // EventSource hides comments; the same feed read with fetch shows them, and the EventSource stays open.
    await page.waitForFunction(`window.taskMcp.rawStream(${raw}).pings >= 3`);
    const stream = await call(page, 'rawStream', raw);
    assert.equal(stream.status, 200);
    assert.match(stream.text, /^event: change\.opened$/m);
    const after = await call(page, 'eventSource', feed);
    assert.deepEqual({ readyState: after.readyState, errors: after.errors }, { readyState: OPEN, errors: 0 });
    await call(page, 'closeRawStream', raw);
    await call(page, 'closeEventSource', feed);
  });

  /** A new EventSource on `page` gets a 401 and errors without ever opening. */
  async function assertFeedRefused(page: Page): Promise<void> {
    const responses = feedResponses(page);
    const feed = await call(page, 'openEventSource');
    const state = await feedState(page, feed, 'f.errors > 0');
    assert.deepEqual({ readyState: state.readyState, opened: state.opened }, { readyState: CLOSED, opened: false });
    assert.deepEqual(
      responses.map((r) => r.status()),
      [401],
    );
  }

  test('without the cookie the EventSource is refused (401) and errors without opening', async () => {
    const page = await openPage();
    await assertFeedRefused(page);
  });

  test('a page on an origin not in CORS_ORIGINS is blocked: its sign-in fails and its EventSource errors, cookie or not', async () => {
    // Sign in from the allowed page first, so the shared cookie jar holds a valid cookie for the API.
    const home = await openPage();
    assert.equal(await call(home, 'login', TOKENS.alice), 200);
    const page = await openPage(foreign.origin, home.context());
    const failed = failedRequests(page);

    assert.match(String(await call(page, 'login', TOKENS.alice)), /^blocked: TypeError/);
    const feed = await call(page, 'openEventSource');
    const state = await feedState(page, feed, 'f.errors > 0');
    assert.deepEqual(
      { readyState: state.readyState, opened: state.opened, events: state.events },
      { readyState: CLOSED, opened: false, events: [] },
    );
    // The sign-in's preflight and the stream request (with a valid cookie) reached the server; their replies carry
    // no CORS headers for this origin, so the browser failed both and the POST itself was never sent.
    assert.deepEqual(failed.sort(), ['GET /v1/events net::ERR_FAILED', 'POST /v1/session net::ERR_FAILED']);
  });

  /** The server's log lines for `/v1/events` answered with `status`, from line `since` on. */
  const eventsAnswered = (status: number, since: number) =>
    s
      .logs()
      .slice(since)
      .filter((l) => {
        const { req, res } = l as { req?: { path?: string }; res?: { status?: number } };
        return req?.path === '/v1/events' && res?.status === status;
      });

  test("a foreign page cannot hold the victim's stream slots: its streams are refused (403) and the victim's all open", async () => {
    // bob is the victim, so that no other test's streams share his slots.
    const home = await openPage();
    assert.equal(await call(home, 'login', TOKENS.bob), 200);
    const page = await openPage(foreign.origin, home.context());
    const before = s.logs().length;
    for (let i = 0; i < STREAM_CAP; i++) {
      await call(page, 'openEventSource');
      await call(page, 'openNoCorsStream');
    }
    const count = 2 * STREAM_CAP;
    await until(10_000, `${count} refusals`, () => eventsAnswered(403, before).length >= count);
    const refused = eventsAnswered(403, before);
    assert.equal(refused.length, count);
    assert.ok(
      refused.every((l) => l.caller === undefined),
      'refused before authentication: no caller on the line',
    );

    const feeds = [];
    for (let i = 0; i < STREAM_CAP; i++) feeds.push(await call(home, 'openEventSource'));
    for (const feed of feeds) {
      const state = await feedState(home, feed, 'f.opened || f.errors > 0');
      assert.deepEqual({ opened: state.opened, errors: state.errors }, { opened: true, errors: 0 });
    }
    for (const feed of feeds) await call(home, 'closeEventSource', feed);
  });

  test('sign-out with the cookie alone ends the open EventSource and the session: a copy of the cookie is refused', async () => {
    const page = await openPage();
    assert.equal(await call(page, 'login', TOKENS.alice), 200);
    const [cookie] = (await page.context().cookies(s.url)).filter((c) => c.name === SESSION_COOKIE);
    const open = await call(page, 'openEventSource');
    await feedState(page, open, 'f.opened');

    assert.equal(await call(page, 'logout'), 204);
    // The server ended the open stream; EventSource reconnected, was refused, and gave up.
    const ended = await feedState(page, open, `f.readyState === ${CLOSED}`);
    assert.ok(ended.errors > 0);
    const jar = await page.context().cookies(s.url);
    assert.deepEqual(
      jar.filter((c) => c.name === SESSION_COOKIE),
      [],
    );
    await assertFeedRefused(page);
    const copied = await s.fetch(`${s.url}/v1/events`, { headers: { Cookie: `${SESSION_COOKIE}=${cookie!.value}` } });
    assert.equal(copied.status, 401, 'the session itself is over, not only the cookie in this jar');
    await copied.arrayBuffer();
  });
});
