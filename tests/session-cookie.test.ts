import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSessionCookies, SESSION_COOKIE } from '../src/http/session-cookie.js';
import { sessionRoutes } from '../src/http/routes/session.js';
import type { AppContext } from '../src/http/handler.js';
import { TaskError } from '../src/errors.js';

const SECRET = 's'.repeat(32);
const NOW = new Date('2026-11-24T12:00:00.000Z');
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
const cookies = (crossSite = false) => createSessionCookies({ secret: SECRET, ttlSeconds: 3600, crossSite });

describe('session cookie values', () => {
  test('a value verifies to the name it was issued for until it expires', () => {
    const { value, expiresAt } = cookies().issue('ci-bot', NOW);
    assert.deepEqual(expiresAt, later(3600));
    assert.deepEqual(cookies().verify(value, later(3599)), { name: 'ci-bot', expiresAt });
  });

  test('an expired value is rejected, from the second it expires', () => {
    const { value } = cookies().issue('ci-bot', NOW);
    assert.equal(cookies().verify(value, later(3600)), undefined);
    assert.equal(cookies().verify(value, later(86_400)), undefined);
  });

  test('a tampered name, expiry or signature is rejected', () => {
    const { value } = cookies().issue('ci-bot', NOW);
    const [version, name, expiry, signature] = value.split('.') as [string, string, string, string];
    const forged = [
      [version, Buffer.from('admin').toString('base64url'), expiry, signature],
      [version, name, String(Number(expiry) + 86_400), signature],
      [version, name, expiry, signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA')],
      [version, name, expiry, signature + 'A'],
      ['v2', name, expiry, signature],
    ];
    for (const parts of forged) assert.equal(cookies().verify(parts.join('.'), NOW), undefined, parts.join('.'));
  });

  test('an unsigned or malformed value is rejected', () => {
    const name = Buffer.from('ci-bot').toString('base64url');
    for (const value of [undefined, '', 'ci-bot', `v1.${name}.9999999999`, `v1.${name}.9999999999.`, 'v1...']) {
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
    assert.deepEqual(cookies().attributes, { httpOnly: true, secure: true, path: '/', sameSite: 'strict' });
  });

  test('SameSite=None (still Secure) when cross-site origins are configured', () => {
    assert.match(cookies(true).setCookieHeader('v', later(1)), /; Secure; SameSite=None$/);
    assert.equal(cookies(true).attributes.sameSite, 'none');
  });

  test('the clearing header expires the cookie with the same attributes', () => {
    assert.equal(
      cookies().clearCookieHeader(),
      `${SESSION_COOKIE}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict`,
    );
  });
});

describe('session routes', () => {
  const routes = sessionRoutes({ cookies: cookies(), now: () => NOW });
  const ctx = (caller?: { name: string; via: 'bearer' | 'cookie' }) => ({ state: { caller } }) as unknown as AppContext;
  const input = { body: undefined as never, path: undefined as never, query: undefined as never };

  test('POST /v1/session sets a cookie that verifies to the caller, and returns its expiry', async () => {
    const reply = await routes.createSession(ctx({ name: 'ci-bot', via: 'bearer' }), input);
    assert.ok(typeof reply === 'object' && reply.status === 200);
    assert.deepEqual(reply.body, { expiresAt: '2026-11-24T13:00:00.000Z' });
    assert.equal(reply.headers?.['Cache-Control'], 'no-store');
    const value = /^task_mcp_session=([^;]+);/.exec(reply.headers?.['Set-Cookie'] ?? '')?.[1];
    assert.equal(cookies().verify(value, NOW)?.name, 'ci-bot');
  });

  test('POST /v1/session without an authenticated caller is EAUTH', async () => {
    await assert.rejects(
      routes.createSession(ctx(), input),
      (err: unknown) => err instanceof TaskError && err.code === 'EAUTH',
    );
  });

  test('DELETE /v1/session answers 204 with the clearing cookie', async () => {
    const reply = await routes.deleteSession(ctx({ name: 'ci-bot', via: 'bearer' }), input);
    assert.ok(typeof reply === 'object' && reply.status === 204);
    assert.equal(reply.headers?.['Set-Cookie'], cookies().clearCookieHeader());
  });
});
