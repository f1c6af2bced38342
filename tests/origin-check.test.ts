/**
 * The one Origin check in front of every route (src/http/origin-check.ts), on the real server, with the exact
 * requests a cross-site page makes: `Origin: https://evil.example` (or only `Sec-Fetch-Site` for a no-cors
 * request) plus the victim's cookie or token. Each is refused with 403 `EFORBIDDEN` before it holds a stream
 * slot or spends a rate-limit budget, so the victim keeps every slot and every request of their own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { originCheck } from '../src/http/origin-check.js';
import { readChecked } from './helpers/contract.js';
import { type TestServer, useServer } from './helpers/server.js';

const ALLOWED = 'https://app.example.test';
const EVIL = 'https://evil.example';
const STREAMS = 2;

/** Signs alice in; her `Cookie` header. */
async function signIn(s: TestServer): Promise<string> {
  const res = await s.authed('/v1/session', { method: 'POST' });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}

/** A refusal by the Origin check: 403 `EFORBIDDEN` problem+json, as the contract declares it. */
async function assertForbidden(res: Response, op: 'getEvents' | 'getLegacySse' | 'invokeTool'): Promise<void> {
  if (res.status !== 403) await res.body?.cancel(); // an open stream would never end
  assert.equal(res.status, 403);
  const { body, issues } = await readChecked(op, res);
  assert.deepEqual(issues, []);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal((body as { code: string }).code, 'EFORBIDDEN');
  assert.equal(res.headers.get('access-control-allow-origin'), null, 'no CORS grant for a refused origin');
}

describe('the Origin check: stream slots', () => {
  const s = useServer({ env: { CORS_ORIGINS: ALLOWED, MAX_STREAMS_PER_CLIENT: String(STREAMS) } });

  it("refuses a foreign page's streams with the victim's cookie (403 EFORBIDDEN); the victim's slots stay free", async () => {
    const cookie = await signIn(s);
    for (let i = 0; i < STREAMS + 1; i++) {
      await assertForbidden(
        await s.fetch(`${s.url}/v1/events`, { headers: { Cookie: cookie, Origin: EVIL } }),
        'getEvents',
      );
      await assertForbidden(
        await s.fetch(`${s.url}/sse`, { headers: { Cookie: cookie, Origin: EVIL } }),
        'getLegacySse',
      );
    }
    // A no-cors request (an <img> or <iframe> on the foreign page) sends no Origin, only Sec-Fetch-Site.
    for (const site of ['cross-site', 'same-site']) {
      const res = await s.fetch(`${s.url}/v1/events`, { headers: { Cookie: cookie, 'Sec-Fetch-Site': site } });
      await assertForbidden(res, 'getEvents');
    }
    const mine = await Promise.all([
      s.fetch(`${s.url}/v1/events`, { headers: { Cookie: cookie, Origin: ALLOWED } }),
      s.fetch(`${s.url}/sse`, { headers: { Cookie: cookie } }),
    ]);
    assert.deepEqual(
      mine.map((r) => r.status),
      [200, 200],
      'every one of the victim slots is still free',
    );
    await Promise.all(mine.map((r) => r.body?.cancel()));
  });

  it('lets same-origin, user-initiated and non-browser requests through', async () => {
    const cookie = await signIn(s);
    const cases: Array<Record<string, string>> = [
      {},
      { Origin: s.url },
      { Origin: ALLOWED },
      { 'Sec-Fetch-Site': 'same-origin' },
      { 'Sec-Fetch-Site': 'none' },
      { Origin: ALLOWED, 'Sec-Fetch-Site': 'cross-site' },
    ];
    for (const headers of cases) {
      const res = await s.fetch(`${s.url}/v1/events`, { headers: { Cookie: cookie, ...headers } });
      assert.equal(res.status, 200, JSON.stringify(headers));
      await res.body?.cancel();
    }
  });

  it('compares whole origins: lookalikes, other schemes and ports and the opaque null are refused', async () => {
    const foreign = [
      'null',
      `${ALLOWED}.evil.test`,
      'http://app.example.test',
      'https://app.example.test:444',
      'not an origin',
      s.url.replace('https://', 'http://'),
    ];
    for (const origin of foreign) {
      await assertForbidden(
        await s.authed('/v1/tools/change.open/invoke', { method: 'POST', headers: { Origin: origin } }),
        'invokeTool',
      );
    }
  });

  it("refuses a foreign origin's preflight; an allowed origin's gets its CORS grant", async () => {
    const preflight = (origin: string) =>
      s.fetch(`${s.url}/v1/session`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'DELETE' },
      });
    const evil = await preflight(EVIL);
    assert.equal(evil.status, 403);
    assert.equal(((await evil.json()) as { code: string }).code, 'EFORBIDDEN');
    const allowed = await preflight(ALLOWED);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /DELETE/);
  });
});

describe('the Origin check: rate limits', () => {
  const s = useServer({ env: { CORS_ORIGINS: ALLOWED, RATE_LIMIT_BURST: '3/1h', RATE_LIMIT_SUSTAINED: '100/1h' } });

  it("refuses a foreign page's requests before the rate limit counts them", async () => {
    const call = (headers: Record<string, string>) =>
      s
        .authed('/v1/tools/nope/invoke', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...headers },
          body: '{}',
        })
        .then(async (res) => {
          await res.arrayBuffer();
          return res.status;
        });
    const foreign: number[] = [];
    for (let i = 0; i < 5; i++) foreign.push(await call({ Origin: EVIL }));
    assert.deepEqual(foreign, Array(5).fill(403));
    const mine: number[] = [];
    for (let i = 0; i < 4; i++) mine.push(await call({ Origin: ALLOWED }));
    assert.deepEqual(mine, [404, 404, 404, 429], "the victim's whole budget was left");
  });
});

describe('originCheck', () => {
  it('refuses an allowlist entry that is not a bare origin when built', () => {
    for (const entry of ['https://ok.example/path', 'ok.example', 'null', 'https://ok.example/?q'])
      assert.throws(() => originCheck([entry]), /allowedOrigins: expected origins/, entry);
    assert.equal(typeof originCheck(['https://ok.example:8443']), 'function');
  });
});
