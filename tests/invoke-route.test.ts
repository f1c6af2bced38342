/**
 * The invoke route on the real server (`startServer`: real TLS, the real app, domain and event feed, a temp git
 * repository). Heartbeats are short so that a real call (OpenSpec runs for a while) spans several. One server
 * serves the file (the tests run one after another). The events route: tests/events-route.test.ts.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { ErrorCode, Problem } from '../generated/types.gen.js';
import type { ChangeService } from '../src/changes/types.js';
import { assertRefusal } from './helpers/hostile.js';
import { invoke, logLine, readUntil, sseEvents } from './helpers/http-routes.js';
import { addedDelta, checkAllTasks, writeDelta } from './helpers/repo.js';
import { gitStatus, TOKENS, type TestServer, useServer } from './helpers/server.js';

/** Opens `slug` as alice and finishes it as an agent would: a valid delta, every task checked, committed. */
async function finishedChange(s: TestServer, slug: string): Promise<void> {
  const res = await invoke(s, 'change_open', 'application/json', { title: `Finish ${slug}`, slug });
  assert.equal(res.status, 200, await res.text());
  await writeDelta(s.repo.root, slug, 'search', addedDelta(`Search ${slug}`));
  await checkAllTasks(s.repo.root, slug);
  await s.repo.commit(`feat: ${slug}`);
}

/** Opens `slug` as alice, then asks for it as bob, answered as `accept`: refused, alice holds it. */
async function openHeldByAlice(s: TestServer, slug: string, accept: string): Promise<Response> {
  await invoke(s, 'change_open', 'application/json', { title: 'Held', slug }).then((r) => r.text());
  return invoke(s, 'change_open', accept, { title: 'Mine', slug }, { token: TOKENS.bob });
}

/** The slug whose `change_open` fails the way no repository can be made to: an unexpected error with a path. */
const EXPLODING = 'explode-now';

const decorateService = (service: ChangeService): ChangeService => ({
  ...service,
  open: async (input, ctx) => {
    if (input.slug !== EXPLODING) return service.open(input, ctx);
    ctx.progress?.('scaffold', 1, 2);
    throw new Error('/srv/secret/path exploded');
  },
});
const s = useServer({ env: { HEARTBEAT_MS: '50', EVENT_RING_SIZE: '2', LOG_LEVEL: 'debug' }, decorateService });

describe('POST /v1/tools/{tool}/invoke', () => {
  test('Accept: text/event-stream streams start, progress per step and result, with ids', async () => {
    const res = await invoke(s, 'change_open', 'text/event-stream', { title: 'Add x', slug: 'add-x' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('cache-control'), 'no-cache, no-transform');
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    const requestId = res.headers.get('x-request-id')!;
    const events = sseEvents(await res.text());
    // The first open of a repository initialises OpenSpec: init, scaffold, lock.
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
    assert.deepEqual(JSON.parse(events[0]!.data!), { type: 'start', tool: 'change.open', requestId });
    assert.deepEqual(
      events.slice(1, 4).map((e) => JSON.parse(e.data!).step),
      ['init', 'scaffold', 'lock'],
    );
    const { result } = JSON.parse(events[4]!.data!) as { result: { slug: string; lock: { owner: string } } };
    assert.equal(result.slug, 'add-x');
    assert.equal(result.lock.owner, 'alice', 'the caller is the actor');
    const line = await logLine(s, requestId);
    assert.equal(line.tool, 'change.open');
    assert.equal(line.transport, 'invoke');
  });

  test('Accept: application/x-ndjson sends each line as it happens, heartbeats while running, then end', async () => {
    await finishedChange(s, 'ndjson-one');
    const res = await invoke(s, 'change_archive', 'application/x-ndjson', { slug: 'ndjson-one' });
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    // The first lines arrive while the call is still running (OpenSpec validates first): nothing waits for the end.
    const early = await readUntil(res, (text) => text.includes('"heartbeat"'));
    assert.equal(JSON.parse(early.split('\n')[0]!).type, 'start');
    assert.ok(!early.includes('"result"'), 'a heartbeat came before the result');
    const lines = (early + (await readUntil(res)))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; result?: { archived: boolean } });
    const types = lines.map((line) => line.type).filter((type) => type !== 'heartbeat');
    assert.deepEqual(types, ['start', 'progress', 'progress', 'progress', 'result', 'end']);
    assert.equal(lines.find((line) => line.type === 'result')?.result?.archived, true);
  });

  test('Accept: application/json answers the result as one body', async () => {
    const res = await invoke(s, 'change_open', 'application/json', { title: 'Add y', slug: 'add-y' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type')?.split(';')[0], 'application/json');
    const body = (await res.json()) as { slug: string; created: boolean };
    assert.equal(body.slug, 'add-y');
    assert.equal(body.created, true);
  });

  test('a failed JSON call is the code’s status as problem+json', async () => {
    const res = await openHeldByAlice(s, 'held-json', 'application/json');
    assert.equal(res.status, 409);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.equal(((await res.json()) as { code: string }).code, 'ELOCKED');
  });

  test('a failed streamed call ends with an error event holding the problem', async () => {
    const res = await openHeldByAlice(s, 'held-sse', 'text/event-stream');
    const requestId = res.headers.get('x-request-id');
    const last = sseEvents(await res.text()).at(-1)!;
    assert.equal(last.event, 'error');
    const { error } = JSON.parse(last.data!) as { error: Record<string, unknown> & { details: { owner: string } } };
    assert.equal(error.type, 'https://task-mcp.dev/errors/ELOCKED');
    assert.equal(error.title, 'The change is locked by another owner');
    assert.equal(error.status, 409);
    assert.equal(error.code, 'ELOCKED');
    assert.equal(error.requestId, requestId);
    assert.equal(error.details.owner, 'alice');
  });

  test('refuses before streaming: unknown tool 404, unacceptable media 406, bad body 400 with each issue', async () => {
    const before = await gitStatus(s.repo);
    const body = { title: 'Add z', slug: 'add-z' };
    const refusals: Array<[string, string, unknown, number, ErrorCode]> = [
      ['change_delete', 'text/event-stream', body, 404, 'ENOTFOUND'],
      ['change_open', 'text/html', body, 406, 'ENOTACCEPTABLE'],
      ['change_open', 'text/event-stream', { slug: 'Not A Slug', extra: 1 }, 400, 'EBADINPUT'],
    ];
    const problems: Problem[] = [];
    for (const [tool, accept, args, status, code] of refusals) {
      const res = await invoke(s, tool, accept, args);
      assert.equal(res.headers.get('content-type'), 'application/problem+json', `${tool} as ${accept}`);
      problems.push(await assertRefusal(res, status, code));
    }
    const locations = (problems[2]?.errors ?? []).map((e) => e.location).sort();
    assert.deepEqual(locations, ['body/extra', 'body/slug', 'body/title']);
    assert.equal(await gitStatus(s.repo), before, 'no call ran');
  });

  test(
    'a client that disconnects mid-call stops its stream; the call still completes',
    { timeout: 30_000 },
    async () => {
      await finishedChange(s, 'left-early');
      // The feed tells when the call is over: `change.archived` is the last thing an archive does.
      const feed = await s.authed('/v1/events', { headers: { Accept: 'text/event-stream' } });
      await readUntil(feed, (text) => text.length > 0);
      const aborter = new AbortController();
      const res = await invoke(
        s,
        'change_archive',
        'text/event-stream',
        { slug: 'left-early' },
        { signal: aborter.signal },
      );
      const seen = await readUntil(res, (text) => text.includes('event: start'));
      assert.ok(!seen.includes('event: result'), 'the client leaves before the call is done');
      aborter.abort();
      const events = sseEvents(await readUntil(feed, (text) => text.includes('event: change.archived')));
      await feed.body!.cancel();
      const archived = events.find((e) => e.event === 'change.archived');
      assert.equal(JSON.parse(archived!.data!).slug, 'left-early');
      // The change is archived through, not left half-done.
      const folders = await readdir(path.join(s.repo.root, 'openspec', 'changes', 'archive'));
      assert.equal(folders.filter((name) => name.endsWith('-left-early')).length, 1);
    },
  );

  test('an unknown failure mid-stream is a bare EINTERNAL for the client and one error log line', async () => {
    const res = await invoke(s, 'change_open', 'application/x-ndjson', { title: 'Boom', slug: EXPLODING });
    const requestId = res.headers.get('x-request-id')!;
    const text = await res.text();
    assert.match(text, /"type":"progress"/, 'the stream had started');
    assert.ok(!text.includes('/srv/secret'));
    assert.match(text, /"code":"EINTERNAL"/);
    await logLine(s, requestId);
    assert.equal(s.logs().filter((line) => line.reqId === requestId && (line.level as number) >= 50).length, 1);
  });
});

test('an unknown failure of a JSON invoke is a bare 500 EINTERNAL, its cause logged once with the tool', async () => {
  const res = await invoke(s, 'change_open', 'application/json', { title: 'Boom', slug: EXPLODING });
  const requestId = res.headers.get('x-request-id')!;
  const text = await res.text();
  assert.equal(res.status, 500);
  assert.ok(!text.includes('/srv/secret'));
  assert.equal((JSON.parse(text) as { code: string }).code, 'EINTERNAL');
  await logLine(s, requestId);
  const causes = s.logs().filter((line) => line.reqId === requestId && line.err !== undefined);
  assert.deepEqual(
    causes.map((line) => [line.msg, line.tool]),
    [['tool call failed', 'change.open']],
  );
});
