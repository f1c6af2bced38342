/**
 * Hostile OAuth tokens at the MCP doors of the real server (`POST /mcp`, `GET /sse`, `POST /messages`), beside a real
 * authorization server (oidc-provider on loopback): each is a 401 with RFC 6750's `invalid_token`, the exact
 * `error_description` and the RFC 9728 challenge of the door's resource, never a 500, and no token in any error body
 * or log line. Then the issuer rotates its keys while an SDK client is connected, and verification follows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { decodeProtectedHeader } from 'jose';
import { REFUSED } from '../src/auth/errors.js';
import { assertNoToken } from './helpers/oauth-assert.js';
import { authorizationCodeToken, registerPublicClient } from './helpers/oauth-client.js';
import { startOidc, type OidcServer } from './helpers/oidc.js';
import { startServer, type TestServer } from './helpers/server.js';

const PUBLIC_URL = 'https://task-mcp.test';
const RESOURCES = [PUBLIC_URL, `${PUBLIC_URL}/mcp`, `${PUBLIC_URL}/sse`];
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const challengeOf = (resource: string, description: string): string =>
  `Bearer realm="task-mcp", resource_metadata="${PUBLIC_URL}/.well-known/oauth-protected-resource${resource}", ` +
  `scope="changes:read changes:write", error="invalid_token", error_description="${description}"`;

describe('hostile OAuth tokens at the MCP doors', () => {
  let as: OidcServer;
  let s: TestServer;
  const presented: string[] = [];
  const bodies: string[] = [];

  const token = async (resource: string, subject = 'carol'): Promise<string> => {
    const value = await authorizationCodeToken(as.issuer, await registerPublicClient(as.issuer), { resource, subject });
    presented.push(value);
    return value;
  };
  const knock: Record<string, (value: string) => Promise<Response>> = {
    '/mcp': (value) =>
      s.fetch(`${s.url}/mcp`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${value}`,
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      }),
    '/sse': (value) =>
      s.fetch(`${s.url}/sse`, { headers: { Authorization: `Bearer ${value}`, Accept: 'text/event-stream' } }),
    '/messages': (value) =>
      s.fetch(`${s.url}/messages?sessionId=00000000-0000-4000-8000-000000000000`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${value}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      }),
  };
  /** Presents `value` at `door` and checks the exact refusal; `resource` is the metadata path the challenge names. */
  const assertRefusedAt = async (door: string, value: string, description: string, resource = door) => {
    presented.push(value);
    const res = await knock[door]!(value);
    const body = await res.text();
    bodies.push(body, res.headers.get('www-authenticate') ?? '');
    assert.equal(res.status, 401, body);
    assert.equal((JSON.parse(body) as { code: string }).code, 'EAUTH');
    assert.equal(res.headers.get('www-authenticate'), challengeOf(resource, description));
    assertNoToken(body, value);
  };

  before(async () => {
    as = await startOidc({ resources: [...RESOURCES, 'https://other.test'] });
    s = await startServer({ env: { PUBLIC_URL, OAUTH_ISSUER: as.issuer, OAUTH_JWKS_COOLDOWN_MS: '0' } });
  });
  after(async () => {
    await s.stop();
    await as.stop();
  });

  it('refuses on /mcp a token the same issuer made for another audience (no token passthrough)', async () => {
    await assertRefusedAt('/mcp', await token('https://other.test'), REFUSED.audience);
    // The same user's token for this resource passes the same door: the audience alone was wrong.
    const res = await knock['/mcp']!(await token(`${PUBLIC_URL}/mcp`));
    assert.equal(res.status, 200, await res.text());
  });

  it('refuses on /sse an unsigned token (alg: none) carrying genuine claims', async () => {
    const [, payload] = (await token(`${PUBLIC_URL}/sse`)).split('.');
    await assertRefusedAt('/sse', `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`, REFUSED.algorithm);
  });

  it('refuses on /mcp an expired token with its error_description; the same claims unexpired pass', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: 'carol', aud: `${PUBLIC_URL}/mcp`, client_id: 'c', scope: 'changes:read changes:write' };
    const fresh = await as.mint({ ...claims, iat: now, exp: now + 300 });
    presented.push(fresh);
    assert.equal((await knock['/mcp']!(fresh)).status, 200, 'a minted token the issuer signed is accepted');
    await assertRefusedAt('/mcp', await as.mint({ ...claims, iat: now - 7200, exp: now - 3600 }), REFUSED.expired);
  });

  it('refuses on /messages a token whose payload was changed after signing', async () => {
    const [header, payload, signature] = (await token(`${PUBLIC_URL}/sse`)).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${header}.${b64({ ...claims, sub: 'root' })}.${signature}`;
    // `/messages` belongs to the HTTP+SSE resource: its challenge names `/sse`'s metadata.
    await assertRefusedAt('/messages', forged, REFUSED.signature, '/sse');
  });

  it('writes no token in any log line or error body, and logs each refusal as a 401', async () => {
    assert.ok(presented.length >= 6);
    assertNoToken([s.rawLogs(), ...bodies].join('\n'), ...presented);
    const refusals = s.logs().filter((line) => (line.res as { status?: number } | undefined)?.status === 401);
    assert.equal(refusals.length, 4);
  });
});

describe('a key rotation on the issuer while a client is connected', () => {
  let as: OidcServer;
  let s: TestServer;

  before(async () => {
    as = await startOidc({ resources: RESOURCES });
    s = await startServer({ env: { PUBLIC_URL, OAUTH_ISSUER: as.issuer, OAUTH_JWKS_COOLDOWN_MS: '0' } });
  });
  after(async () => {
    await s.stop();
    await as.stop();
  });

  it("follows the new key for the client's next token, and refuses the key the issuer stopped publishing", async () => {
    const tokenFor = async (subject: string) =>
      authorizationCodeToken(as.issuer, await registerPublicClient(as.issuer), {
        resource: `${PUBLIC_URL}/mcp`,
        subject,
      });
    let current = await tokenFor('carol');
    const old = current;
    // The client's token, as a client that refreshes would hold it: whatever it holds now goes on each request.
    const withToken: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('Authorization', `Bearer ${current}`);
      return s.fetch(input, { ...init, headers });
    };
    const client = new Client({ name: 'rotation', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', s.url), { fetch: withToken }));
    try {
      const owner = async (slug: string) => {
        const result = await client.callTool({ name: 'change_open', arguments: { title: slug, slug } });
        assert.equal(result.isError, undefined, JSON.stringify(result.content));
        return (result.structuredContent as { lock: { owner: string } }).lock.owner;
      };
      assert.equal(await owner('before-rotation'), 'carol~127-0-0-1');
      const fetchedBefore = as.hits('/jwks');

      as.rotateKeys();
      current = await tokenFor('carol');
      assert.notEqual(decodeProtectedHeader(current).kid, decodeProtectedHeader(old).kid);
      assert.equal(await owner('after-rotation'), 'carol~127-0-0-1', 'the connected client goes on, new key');
      assert.equal(as.hits('/jwks'), fetchedBefore + 1, 'the unknown kid made the server fetch the JWKS once');

      const stale = await s.fetch(`${s.url}/v1/tools/change.open/invoke`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${old}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ title: 'Stale', slug: 'stale-key' }),
      });
      assert.equal(stale.status, 401);
      assert.match(
        stale.headers.get('www-authenticate') ?? '',
        new RegExp(`error_description="${REFUSED.unknownKey}"`),
      );
      assertNoToken(s.rawLogs(), old, current);
    } finally {
      await client.close();
    }
  });
});
