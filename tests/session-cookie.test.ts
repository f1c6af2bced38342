import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSessionCookies, SESSION_COOKIE } from '../src/http/session-cookie.js';
import { useServer } from './helpers/server.js';

const SECRET = 's'.repeat(32);
const NOW = new Date('2026-11-24T12:00:00.000Z');
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
const cookies = (crossSite = false) => createSessionCookies({ secret: SECRET, ttlSeconds: 3600, crossSite });

describe('session cookie values', () => {
  test('a value verifies to the session it was issued for until it expires', () => {
    const { value, id, name, expiresAt } = cookies().issue('ci-bot', NOW);
    assert.deepEqual({ name, expiresAt }, { name: 'ci-bot', expiresAt: later(3600) });
    assert.deepEqual(cookies().verify(value, later(3599)), { id, name: 'ci-bot', expiresAt });
  });

  test('each value is a new session, with its own unguessable id', () => {
    const ids = new Set(Array.from({ length: 100 }, () => cookies().issue('ci-bot', NOW).id));
    assert.equal(ids.size, 100);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{22}$/, '128 random bits, base64url');
  });

  test('an expired value is rejected, from the second it expires', () => {
    const { value } = cookies().issue('ci-bot', NOW);
    assert.equal(cookies().verify(value, later(3600)), undefined);
    assert.equal(cookies().verify(value, later(86_400)), undefined);
  });

  test('a tampered name, expiry or signature is rejected', () => {
    const { value } = cookies().issue('ci-bot', NOW);
    const [version, id, name, expiry, signature] = value.split('.') as [string, string, string, string, string];
    const other = cookies().issue('ci-bot', NOW).id;
    const forged = [
      [version, id, Buffer.from('admin').toString('base64url'), expiry, signature],
      [version, other, name, expiry, signature],
      [version, id, name, String(Number(expiry) + 86_400), signature],
      [version, id, name, expiry, signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA')],
      [version, id, name, expiry, signature + 'A'],
      ['v1', id, name, expiry, signature],
      ['v1', name, expiry, signature],
    ];
    for (const parts of forged) assert.equal(cookies().verify(parts.join('.'), NOW), undefined, parts.join('.'));
  });

  test('an unsigned or malformed value is rejected', () => {
    const name = Buffer.from('ci-bot').toString('base64url');
    const id = 'A'.repeat(22);
    const values = [undefined, '', 'ci-bot', `v2.${id}.${name}.9999999999`, `v2.${id}.${name}.9999999999.`, 'v2....'];
    for (const value of [...values, `v2.short.${name}.9999999999.AAAA`]) {
      assert.equal(cookies().verify(value, NOW), undefined, String(value));
    }
  });

  test('a value signed with another secret is rejected; without a secret each signer has its own', () => {
    const { value } = createSessionCookies({ secret: 't'.repeat(32), ttlSeconds: 60, crossSite: false }).issue(
      'x',
      NOW,
    );
    assert.equal(cookies().verify(value, NOW), undefined);
    const a = createSessionCookies({ secret: undefined, ttlSeconds: 60, crossSite: false });
    const b = createSessionCookies({ secret: undefined, ttlSeconds: 60, crossSite: false });
    const issued = a.issue('x', NOW).value;
    assert.equal(a.verify(issued, NOW)?.name, 'x');
    assert.equal(b.verify(issued, NOW), undefined);
  });

  test('names with dots and non-ASCII survive the round trip', () => {
    const { value } = cookies().issue('ops.team-ü', NOW);
    assert.equal(cookies().verify(value, NOW)?.name, 'ops.team-ü');
    assert.match(value, /^[A-Za-z0-9._-]+$/, 'only cookie-safe characters');
  });

  test('refuses a secret shorter than 32 bytes and a ttl that is not a positive integer', () => {
    assert.throws(() => createSessionCookies({ secret: 'short', ttlSeconds: 60, crossSite: false }), /32 bytes/);
    assert.throws(() => createSessionCookies({ secret: SECRET, ttlSeconds: 0, crossSite: false }), RangeError);
  });
});

describe('session cookie attributes', () => {
  test('same-site by default: HttpOnly, Secure, Path=/, SameSite=Strict', () => {
    const header = cookies().setCookieHeader('v', later(3600));
    assert.equal(
      header,
      `${SESSION_COOKIE}=v; Expires=Tue, 24 Nov 2026 13:00:00 GMT; Path=/; HttpOnly; Secure; SameSite=Strict`,
    );
  });

  test('SameSite=None (still Secure) when cross-site origins are configured', () => {
    assert.match(cookies(true).setCookieHeader('v', later(1)), /; Secure; SameSite=None$/);
  });

  test('the clearing header expires the cookie with the same attributes', () => {
    assert.equal(
      cookies().clearCookieHeader(),
      `${SESSION_COOKIE}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict`,
    );
  });
});

describe('session routes', () => {
  const s = useServer({ env: { COOKIE_SECRET: SECRET, SESSION_TTL_SECONDS: '3600' } });

  test('POST /v1/session sets a cookie that verifies to the caller, and returns its expiry', async () => {
    const before = Date.now();
    const res = await s.authed('/v1/session', { method: 'POST' });
    assert.equal(res.status, 200);
    const { expiresAt } = (await res.json()) as { expiresAt: string };
    const expiry = Date.parse(expiresAt);
    // Cookie expiries have whole seconds; the server's clock read falls between our two reads.
    assert.ok(expiry >= before + 3_599_000 && expiry <= Date.now() + 3_600_000, expiresAt);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const setCookie = res.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    const value = /^task_mcp_session=([^;]+);/.exec(setCookie)?.[1];
    assert.equal(cookies().verify(value, new Date(before))?.name, 'alice');
    const events = await s.fetch(`${s.url}/v1/events`, { headers: { Cookie: `${SESSION_COOKIE}=${value}` } });
    assert.equal(events.status, 200, 'the cookie opens the event stream');
    await events.body?.cancel();
  });

  test('POST /v1/session without an authenticated caller is 401 EAUTH', async () => {
    const res = await s.fetch(`${s.url}/v1/session`, { method: 'POST' });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: string }).code, 'EAUTH');
  });

  test('DELETE /v1/session with a bearer token and no cookie answers 204 with the clearing cookie', async () => {
    const res = await s.authed('/v1/session', { method: 'DELETE' });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('set-cookie'), cookies().clearCookieHeader());
  });
});
