/**
 * The invoke and events routes over real sockets, each behind a minimal Koa app that does what the real one
 * does around a handler: request state, the JSON body, problem+json for thrown errors, replies.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { CallContext, ChangeService } from '../src/changes/types.js';
import { loadContract } from '../src/contract/index.js';
import { TaskError } from '../src/errors.js';
import { createEventFeed, type EventFeed } from '../src/events/feed.js';
import { HANDLED, type Handler, type RequestState } from '../src/http/handler.js';
import { toProblem } from '../src/http/problem.js';
import { eventsRoutes } from '../src/http/routes/events.js';
import { invokeRoutes } from '../src/http/routes/invoke.js';
import { createLifecycle } from '../src/lifecycle.js';
import type { ChangeEvent, ChangeOpenResult } from '../generated/types.gen.js';

const contract = loadContract(['invokeTool']);
const REQUEST_ID = 'req-1';

/** A log that records errors, and is silent otherwise. */
function testLog() {
  const errors: unknown[] = [];
  const quiet = () => undefined;
  const log = { debug: quiet, info: quiet, warn: quiet, error: (obj: unknown) => void errors.push(obj) };
  return { errors, log: log as unknown as Logger };
}

const apps: Array<{ close(): void; closeAllConnections(): void }> = [];
after(() => {
  for (const server of apps) {
    server.closeAllConnections();
    server.close();
  }
});

/** Serves one handler on 127.0.0.1; resolves the base URL and the request state each call left behind. */
async function serve(handler: Handler<'invokeTool'> | Handler<'getEvents'>, log: Logger) {
  const states: RequestState[] = [];
  const app = new Koa<RequestState>();
  app.on('error', () => undefined); // disconnects mid-stream are expected here
  app.use(async (ctx) => {
    Object.assign(ctx.state, { requestId: REQUEST_ID, log, caller: { name: 'alice', via: 'bearer' } });
    states.push(ctx.state);
    try {
      let body: unknown;
      for await (const chunk of ctx.req) body = (body ?? '') + String(chunk);
      const tool = /^\/v1\/tools\/([^/]+)\/invoke$/.exec(ctx.path)?.[1] ?? '';
      const input = { body: body === undefined ? undefined : JSON.parse(body as string), path: { tool }, query: {} };
      const reply = await (handler as Handler<'invokeTool'>)(ctx, input as never);
      if (reply === HANDLED) return;
      ctx.status = reply.status;
      ctx.body = reply.body;
    } catch (err) {
      const problem = toProblem(err, REQUEST_ID, contract.errorMap);
      ctx.status = problem.status;
      ctx.type = 'application/problem+json';
      ctx.body = problem;
    }
  });
  const server = app.listen(0, '127.0.0.1');
  apps.push(server);
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, states };
}

/** Reads a streamed body until `done(text)` holds or it ends; returns the text so far. */
async function readUntil(res: Response, done: (text: string) => boolean = () => false): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!done(text)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

/** The events of an SSE text, as the fields each carries (comments dropped). */
const sseEvents = (text: string) =>
  text
    .split('\n\n')
    .filter((block) => block !== '' && !block.startsWith(':'))
    .map((block) =>
      Object.fromEntries(
        block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
      ),
    );

const OPEN_RESULT: ChangeOpenResult = {
  apiVersion: 'task-mcp/v1',
  slug: 'add-x',
  status: 'open',
  created: true,
  locked: true,
  lock: { owner: 'alice', since: '2026-11-24T12:00:00Z', ttl: 3600, expiresAt: '2026-11-24T13:00:00Z' },
  paths: { change: 'c', proposal: 'p', tasks: 't', specs: 's' },
  resourceUris: { proposal: 'change://add-x/proposal', tasks: 'change://add-x/tasks', delta: 'change://add-x/delta' },
  toolVersions: { taskMcp: '0.1.0', openspec: '1.13.2' },
};

/** A service whose `open` reports three steps, waits for `gate`, then returns or throws `failure`. */
function fakeService(options: { gate?: Promise<void>; failure?: unknown } = {}) {
  const calls: CallContext[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const service = {
    async open(_input: unknown, ctx: CallContext) {
      calls.push(ctx);
      ctx.progress?.('init', 1, 3);
      ctx.progress?.('scaffold', 2, 3);
      await options.gate;
      ctx.progress?.('lock', 3, 3);
      finish();
      if (options.failure) throw options.failure;
      return OPEN_RESULT;
    },
  } as unknown as ChangeService;
  return { service, calls, finished };
}

const BODY = JSON.stringify({ title: 'Add x', slug: 'add-x' });
const post = (url: string, accept: string, body = BODY, signal?: AbortSignal) =>
  fetch(`${url}/v1/tools/change_open/invoke`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: accept },
    body,
    signal: signal ?? null,
  });

describe('POST /v1/tools/{tool}/invoke', () => {
  test('Accept: text/event-stream streams start, progress per step and result, with ids', async () => {
    const { log } = testLog();
    const { service, calls } = fakeService();
    const { url, states } = await serve(invokeRoutes({ service, contract, heartbeatMs: 60_000 }).invokeTool, log);
    const res = await post(url, 'text/event-stream');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('cache-control'), 'no-cache, no-transform');
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    const events = sseEvents(await res.text());
    assert.deepEqual(
      events.map((e) => [e.event, e.id]),
      [
        ['start', '1'],
        ['progress', '2'],
        ['progress', '3'],
        ['progress', '4'],
        ['result', '5'],
      ],
    );
    assert.deepEqual(JSON.parse(events[0]!.data!), { type: 'start', tool: 'change.open', requestId: REQUEST_ID });
    assert.deepEqual(JSON.parse(events[4]!.data!), { type: 'result', result: OPEN_RESULT });
    assert.equal(calls[0]?.actor, 'alice');
    assert.equal(states[0]?.tool, 'change.open');
    assert.equal(states[0]?.transport, 'invoke');
  });

  test('Accept: application/x-ndjson sends each line as it happens, heartbeats while running, then end', async () => {
    const { log } = testLog();
    let release!: () => void;
    const { service } = fakeService({ gate: new Promise((resolve) => (release = resolve)) });
    const { url } = await serve(invokeRoutes({ service, contract, heartbeatMs: 20 }).invokeTool, log);
    const res = await post(url, 'application/x-ndjson');
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    // The first lines arrive while the call is still blocked: nothing waits for the end.
    const early = await readUntil(res, (text) => text.includes('"heartbeat"'));
    assert.deepEqual(
      early.split('\n')[0],
      JSON.stringify({ type: 'start', tool: 'change.open', requestId: REQUEST_ID }),
    );
    release();
    const lines = (early + (await readUntil(res)))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string });
    const types = lines.map((line) => line.type).filter((type) => type !== 'heartbeat');
    assert.deepEqual(types, ['start', 'progress', 'progress', 'progress', 'result', 'end']);
    assert.ok(lines.some((line) => line.type === 'heartbeat'));
  });

  test('Accept: application/json answers the result as one body', async () => {
    const { service } = fakeService();
    const { url } = await serve(invokeRoutes({ service, contract, heartbeatMs: 60_000 }).invokeTool, testLog().log);
    const res = await post(url, 'application/json');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), OPEN_RESULT);
  });

  test('a failed JSON call is the code’s status as problem+json', async () => {
    const { service } = fakeService({ failure: new TaskError('ELOCKED', 'Locked by bob') });
    const { url } = await serve(invokeRoutes({ service, contract, heartbeatMs: 60_000 }).invokeTool, testLog().log);
    const res = await post(url, 'application/json');
    assert.equal(res.status, 409);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.equal(((await res.json()) as { code: string }).code, 'ELOCKED');
  });

  test('a failed streamed call ends with an error event holding the problem', async () => {
    const { service } = fakeService({ failure: new TaskError('ELOCKED', 'Locked by bob') });
    const { url } = await serve(invokeRoutes({ service, contract, heartbeatMs: 60_000 }).invokeTool, testLog().log);
    const events = sseEvents(await (await post(url, 'text/event-stream')).text());
    const last = events.at(-1)!;
    assert.equal(last.event, 'error');
    assert.deepEqual(JSON.parse(last.data!).error, {
      type: 'https://task-mcp.dev/errors/ELOCKED',
      title: 'The change is locked by another owner',
      status: 409,
      detail: 'Locked by bob',
      code: 'ELOCKED',
      requestId: REQUEST_ID,
    });
  });

  test('an unknown failure mid-stream is a bare EINTERNAL for the client and one error log line', async () => {
    const { log, errors } = testLog();
    const { service } = fakeService({ failure: new Error('/srv/secret/path exploded') });
    const { url } = await serve(invokeRoutes({ service, contract, heartbeatMs: 60_000 }).invokeTool, log);
    const text = await (await post(url, 'application/x-ndjson')).text();
    assert.ok(!text.includes('/srv/secret'));
    assert.match(text, /"code":"EINTERNAL"/);
    assert.equal(errors.length, 1);
  });

  test('refuses before streaming: unknown tool 404, unacceptable media 406, bad body 400 with each issue', async () => {
    const { service, calls } = fakeService();
    const { url } = await serve(invokeRoutes({ service, contract, heartbeatMs: 60_000 }).invokeTool, testLog().log);
    const unknown = await fetch(`${url}/v1/tools/change_delete/invoke`, { method: 'POST', body: BODY });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { code: string }).code, 'ENOTFOUND');
    const html = await post(url, 'text/html');
    assert.equal(html.status, 406);
    assert.equal(((await html.json()) as { code: string }).code, 'ENOTACCEPTABLE');
    const bad = await post(url, 'text/event-stream', JSON.stringify({ slug: 'Not A Slug', extra: 1 }));
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('content-type'), 'application/problem+json');
    const problem = (await bad.json()) as { code: string; errors: Array<{ location: string }> };
    assert.equal(problem.code, 'EBADINPUT');
    assert.deepEqual(problem.errors.map((e) => e.location).sort(), ['body/extra', 'body/slug', 'body/title']);
    assert.equal(calls.length, 0);
  });

  test('a client that disconnects mid-call stops its stream; the call still completes', async () => {
    let release!: () => void;
    const { service, finished } = fakeService({ gate: new Promise((resolve) => (release = resolve)) });
    const { url } = await serve(invokeRoutes({ service, contract, heartbeatMs: 10 }).invokeTool, testLog().log);
    const aborter = new AbortController();
    const res = await post(url, 'text/event-stream', BODY, aborter.signal);
    await readUntil(res, (text) => text.includes('event: start'));
    aborter.abort();
    await new Promise((resolve) => setTimeout(resolve, 30));
    release();
    await finished; // the change is written through, not left half-done
  });
});

describe('GET /v1/events', () => {
  const at = '2026-11-24T12:00:00.000Z';
  const event = (slug: string): ChangeEvent => ({ type: 'change.opened', slug, actor: 'alice', at });

  /** A feed that counts its live subscriptions. */
  function countingFeed(inner: EventFeed) {
    const counter = { active: 0 };
    const feed: EventFeed = {
      emit: (e) => inner.emit(e),
      subscribe(lastEventId, listener) {
        counter.active++;
        const unsubscribe = inner.subscribe(lastEventId, listener);
        return () => {
          counter.active--;
          unsubscribe();
        };
      },
    };
    return { feed, counter };
  }

  test('sends retry first, then each change with its type and sequential id', async () => {
    const feed = createEventFeed({ ringSize: 10, firstId: 1 });
    const { url, states } = await serve(eventsRoutes({ feed, heartbeatMs: 60_000 }).getEvents, testLog().log);
    const res = await fetch(`${url}/v1/events`, { headers: { Accept: 'text/event-stream' } });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(await readUntil(res, (text) => text.length > 0), 'retry: 3000\n\n');
    feed.emit(event('aaa'));
    feed.emit(event('bbb'));
    const events = sseEvents(await readUntil(res, (text) => text.includes('bbb')));
    assert.deepEqual(
      events.map((e) => [e.event, e.id, e.data]),
      [
        ['change.opened', '1', JSON.stringify(event('aaa'))],
        ['change.opened', '2', JSON.stringify(event('bbb'))],
      ],
    );
    assert.equal(states[0]?.transport, 'events');
    await res.body!.cancel();
  });

  test('Last-Event-ID replays what was missed; one older than the ring gets a reset', async () => {
    const feed = createEventFeed({ ringSize: 2, firstId: 1, now: () => new Date(at) });
    for (const slug of ['aaa', 'bbb', 'ccc']) feed.emit(event(slug));
    const { url } = await serve(eventsRoutes({ feed, heartbeatMs: 60_000 }).getEvents, testLog().log);
    const resume = async (lastEventId: string) => {
      const res = await fetch(`${url}/v1/events`, { headers: { 'Last-Event-ID': lastEventId } });
      const events = sseEvents(await readUntil(res, (text) => text.split('\n\n').length > 2));
      await res.body!.cancel();
      return events.map((e) => [e.event, e.id]);
    };
    assert.deepEqual(await resume('2'), [
      [undefined, undefined],
      ['change.opened', '3'],
    ]);
    assert.deepEqual(await resume('0'), [
      [undefined, undefined],
      ['reset', '3'],
    ]);
  });

  test('heartbeats keep an idle stream alive', async () => {
    const { url } = await serve(
      eventsRoutes({ feed: createEventFeed({ ringSize: 2 }), heartbeatMs: 10 }).getEvents,
      testLog().log,
    );
    const res = await fetch(`${url}/v1/events`);
    const text = await readUntil(res, (t) => t.split(': ping\n\n').length > 3);
    assert.ok(text.startsWith('retry: 3000\n\n: ping\n\n'));
    await res.body!.cancel();
  });

  test('a client that goes away is unsubscribed', async () => {
    const { feed, counter } = countingFeed(createEventFeed({ ringSize: 2 }));
    const { url } = await serve(eventsRoutes({ feed, heartbeatMs: 60_000 }).getEvents, testLog().log);
    const res = await fetch(`${url}/v1/events`);
    await readUntil(res, (text) => text.length > 0);
    assert.equal(counter.active, 1);
    await res.body!.cancel();
    for (let waited = 0; counter.active > 0 && waited < 2000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    assert.equal(counter.active, 0);
  });

  test('draining ends each stream with a last comment and unsubscribes it', async () => {
    const lifecycle = createLifecycle();
    const { feed, counter } = countingFeed(createEventFeed({ ringSize: 2 }));
    const { url } = await serve(eventsRoutes({ feed, heartbeatMs: 60_000, lifecycle }).getEvents, testLog().log);
    const res = await fetch(`${url}/v1/events`);
    await readUntil(res, (text) => text.length > 0);
    lifecycle.drain();
    assert.equal(await readUntil(res), ': server shutting down\n\n');
    assert.equal(counter.active, 0);
  });
});
