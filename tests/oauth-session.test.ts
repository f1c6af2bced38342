/**
 * Browser sessions of OAuth callers: `POST /v1/session` takes an OAuth access token, the cookie it sets never
 * outlives the token (its expiry is the earlier of `SESSION_TTL_SECONDS` and the token's `exp`), the cookie is
 * accepted afterwards as its caller, and it ends with its issuer's removal from `OAUTH_ISSUER`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { assertNoToken } from './helpers/oauth-assert.js';
import { authorizationCodeToken, registerPublicClient } from './helpers/oauth-client.js';
import { startOidc, type OidcServer } from './helpers/oidc.js';
import { startServer, type TestServer } from './helpers/server.js';

const PUBLIC_URL = 'https://task-mcp.test';
const RESOURCES = [PUBLIC_URL, `${PUBLIC_URL}/mcp`, `${PUBLIC_URL}/sse`];
const SESSION_TTL_SECONDS = 600;
const COOKIE_SECRET = 'a-cookie-secret-of-at-least-32-characters';

describe('a browser session of an OAuth caller', () => {
  let brief: OidcServer;
  let lasting: OidcServer;
  let s: TestServer;
  const issued: string[] = [];

  const token = async (as: OidcServer, subject: string): Promise<string> => {
    const value = await authorizationCodeToken(as.issuer, await registerPublicClient(as.issuer), {
      resource: PUBLIC_URL,
      subject,
    });
    issued.push(value);
    return value;
  };
  const signIn = async (server: TestServer, value: string) => {
    const res = await server.fetch(`${server.url}/v1/session`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${value}` },
    });
    assert.equal(res.status, 200);
    const { expiresAt } = (await res.json()) as { expiresAt: string };
    const setCookie = res.headers.get('set-cookie')!;
    return { expiresAt, setCookie, cookie: setCookie.split(';')[0]! };
  };
  const feedByCookie = (server: TestServer, cookie: string) =>
    server.fetch(`${server.url}/v1/events`, { headers: { Cookie: cookie } });

  before(async () => {
    brief = await startOidc({ resources: RESOURCES, accessTokenTtlSeconds: 300 });
    lasting = await startOidc({ resources: RESOURCES, accessTokenTtlSeconds: 3600 });
    s = await startServer({
      env: {
        PUBLIC_URL,
        OAUTH_ISSUER: `brief=${brief.issuer},lasting=${lasting.issuer}`,
        SESSION_TTL_SECONDS: String(SESSION_TTL_SECONDS),
        COOKIE_SECRET,
      },
    });
  });
  after(async () => {
    await s.stop();
    await brief.stop();
    await lasting.stop();
  });

  it("ends the session with the token when the token expires first: the cookie's expiry is its exp", async () => {
    const value = await token(brief, 'carol');
    const { expiresAt, setCookie, cookie } = await signIn(s, value);
    const exp = new Date(decodeJwt(value).exp! * 1000);
    assert.equal(expiresAt, exp.toISOString());
    assert.match(setCookie, new RegExp(`; Expires=${exp.toUTCString()}; `));
    const res = await feedByCookie(s, cookie);
    assert.equal(res.status, 200);
    await res.body!.cancel();
    const line = await s.waitForLog((record) => record.transport === 'events' && record.caller === 'carol~brief');
    assert.equal((line.res as { status: number }).status, 200);
  });

  it('ends it after SESSION_TTL_SECONDS when that comes first', async () => {
    const value = await token(lasting, 'dave');
    const { expiresAt, cookie } = await signIn(s, value);
    const { iat, exp } = decodeJwt(value);
    const at = Date.parse(expiresAt) / 1000;
    assert.ok(at < exp!, `the session ends (${at}) before the token (${exp})`);
    assert.ok(at >= iat! + SESSION_TTL_SECONDS, `the session lasts SESSION_TTL_SECONDS (${at - iat!} s)`);
    const res = await feedByCookie(s, cookie);
    assert.equal(res.status, 200);
    await res.body!.cancel();
  });

  it('refuses the cookie once its issuer is no longer configured, even with the same COOKIE_SECRET', async () => {
    const { cookie } = await signIn(s, await token(brief, 'erin'));
    const without = await startServer({
      env: { PUBLIC_URL, OAUTH_ISSUER: `lasting=${lasting.issuer}`, COOKIE_SECRET },
    });
    try {
      const refused = await feedByCookie(without, cookie);
      assert.equal(refused.status, 401);
      assert.equal(((await refused.json()) as { code: string }).code, 'EAUTH');
      // The same cookie on a server that still trusts the issuer: accepted, so the signature was fine.
      const accepted = await feedByCookie(s, cookie);
      assert.equal(accepted.status, 200);
      await accepted.body!.cancel();
    } finally {
      await without.stop();
    }
  });

  it('writes no token in any log line', () => {
    assert.equal(issued.length, 3);
    assertNoToken(s.rawLogs(), ...issued);
  });
});
