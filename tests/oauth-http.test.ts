/**
 * OAuth on the real server (`startServer`: real TLS, a temp repository) beside a real authorization server
 * (oidc-provider on loopback): the RFC 9728 metadata routes, the 401 challenge that leads a client to them, tokens
 * the issuer really made accepted as their subject, refused ones answered per RFC 6750, and an issuer going away.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { assertNoToken } from './helpers/oauth-assert.js';
import {
  authorizationCodeToken,
  clientCredentialsToken,
  registerConfidentialClient,
  registerPublicClient,
} from './helpers/oauth-client.js';
import { readChecked } from './helpers/contract.js';
import { startOidc, type OidcServer } from './helpers/oidc.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';

const PUBLIC_URL = 'https://task-mcp.test';
const APP_ORIGIN = 'https://app.example.com';
const SCOPE = 'scope="changes:read changes:write"';
const challengeOf = (resource: string, error = ''): string =>
  `Bearer realm="task-mcp", resource_metadata="${PUBLIC_URL}/.well-known/oauth-protected-resource${resource}", ${SCOPE}${error}`;

const oauthEnv = (issuer: string) => ({ PUBLIC_URL, OAUTH_ISSUER: issuer, OAUTH_JWKS_COOLDOWN_MS: '0' });
const invoke = (s: TestServer, token: string, slug: string) =>
  s.fetch(`${s.url}/v1/tools/change.open/invoke`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ title: `Open ${slug}`, slug }),
  });

describe('OAuth on the HTTP surface', () => {
  let as: OidcServer;
  let s: TestServer;
  const issued: string[] = [];
  const token = async (resource = `${PUBLIC_URL}/mcp`, subject = 'carol'): Promise<string> => {
    const value = await authorizationCodeToken(as.issuer, await registerPublicClient(as.issuer), { resource, subject });
    issued.push(value);
    return value;
  };

  before(async () => {
    as = await startOidc({ resources: [PUBLIC_URL, `${PUBLIC_URL}/mcp`, `${PUBLIC_URL}/sse`, 'https://other.test'] });
    s = await startServer({ env: { ...oauthEnv(as.issuer), CORS_ORIGINS: APP_ORIGIN } });
  });
  after(async () => {
    await s.stop();
    await as.stop();
  });

  it('serves the Protected Resource Metadata of the server, of /mcp and of /sse, without a token', async () => {
    const documents = {
      getProtectedResourceMetadata: '',
      getMcpProtectedResourceMetadata: '/mcp',
      getSseProtectedResourceMetadata: '/sse',
    } as const;
    for (const [op, path] of Object.entries(documents)) {
      const res = await s.fetch(`${s.url}/.well-known/oauth-protected-resource${path}`);
      const { body, issues } = await readChecked(op as keyof typeof documents, res);
      assert.equal(res.status, 200);
      assert.deepEqual(issues, []);
      assert.deepEqual(body, {
        resource: `${PUBLIC_URL}${path}`,
        authorization_servers: [as.issuer],
        scopes_supported: ['changes:read', 'changes:write'],
        bearer_methods_supported: ['header'],
        resource_name: 'task-mcp',
      });
    }
  });

  it('answers a 401 on /mcp, /sse, /messages and the REST routes with the challenge naming their metadata', async () => {
    const cases: Array<[string, RequestInit, string]> = [
      ['/mcp', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } }, '/mcp'],
      ['/sse', {}, '/sse'],
      ['/messages?sessionId=0123456789abcdef', { method: 'POST', body: '{}' }, '/sse'],
      ['/v1/tools/change.open/invoke', { method: 'POST', body: '{}' }, ''],
    ];
    for (const [path, init, resource] of cases) {
      const res = await s.fetch(s.url + path, init);
      assert.equal(res.status, 401, path);
      assert.equal(((await res.json()) as { code: string }).code, 'EAUTH');
      assert.equal(res.headers.get('www-authenticate'), challengeOf(resource), path);
    }
  });

  it('lets a browser-based client of an allowed origin read the challenge', async () => {
    const res = await s.fetch(`${s.url}/mcp`, { method: 'POST', body: '{}', headers: { Origin: APP_ORIGIN } });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('access-control-allow-origin'), APP_ORIGIN);
    assert.ok(res.headers.get('access-control-expose-headers')?.split(',').includes('WWW-Authenticate'));
  });

  it("takes a verified token's subject, with its issuer's label, as the caller: the lock owner over HTTP and MCP", async () => {
    const res = await invoke(s, await token(PUBLIC_URL), 'oauth-over-http');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { lock: { owner: string } }).lock.owner, 'carol~127-0-0-1');

    const client = new Client(
      { name: 'oauth-test', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    const headers = { Authorization: `Bearer ${await token(`${PUBLIC_URL}/mcp`, 'dave')}` };
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', s.url), { fetch: s.fetch, requestInit: { headers } }),
    );
    try {
      const result = await client.callTool({
        name: 'change_open',
        arguments: { title: 'Over MCP', slug: 'oauth-over-mcp' },
      });
      assert.equal((result.structuredContent as { lock: { owner: string } }).lock.owner, 'dave~127-0-0-1');
    } finally {
      await client.close();
    }
  });

  it('refuses a token for another audience with 401 invalid_token and its description', async () => {
    const res = await invoke(s, await token('https://other.test'), 'not-for-us');
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: string }).code, 'EAUTH');
    assert.equal(
      res.headers.get('www-authenticate'),
      challengeOf(
        '',
        ', error="invalid_token", error_description="The access token was not issued for this resource."',
      ),
    );
  });

  it('keeps the static tokens working beside OAuth', async () => {
    const res = await invoke(s, TOKENS.alice, 'static-beside-oauth');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { lock: { owner: string } }).lock.owner, 'alice');
  });

  it('writes no token in any log line', () => {
    assert.ok(issued.length >= 3);
    assert.match(s.rawLogs(), /"caller":"carol~127-0-0-1"/);
    assertNoToken(s.rawLogs(), ...issued);
  });
});

describe('OAuth with its issuer unreachable', () => {
  let as: OidcServer;
  let s: TestServer;
  let token: string;

  before(async () => {
    as = await startOidc({ resources: [PUBLIC_URL] });
    token = await clientCredentialsToken(as.issuer, await registerConfidentialClient(as.issuer), {
      resource: PUBLIC_URL,
    });
    s = await startServer({ env: oauthEnv(as.issuer) });
    await as.stop();
  });
  after(() => s.stop());

  it('answers an OAuth token 503 EAUTH_UNAVAILABLE with Retry-After, and logs the issuer, not the token', async () => {
    const res = await invoke(s, token, 'issuer-down');
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    const body = (await res.json()) as { code: string; details: { issuer: string } };
    assert.equal(body.code, 'EAUTH_UNAVAILABLE');
    assert.equal(body.details.issuer, as.issuer);
    assertNoToken(JSON.stringify(body) + s.rawLogs(), token);
    assert.ok(s.logs().some((line) => line.msg === 'OAuth issuer unavailable' && line.issuer === as.issuer));
  });

  it('leaves static tokens and the probes alone, and reports oauth degraded in readiness', async () => {
    assert.equal((await invoke(s, TOKENS.alice, 'static-while-issuer-down')).status, 200);
    const health = await s.fetch(`${s.url}/healthz`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(health.status, 200);
    const ready = await s.fetch(`${s.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks.oauth, 'degraded');
  });
});

describe('without OAUTH_ISSUER', () => {
  let s: TestServer;
  before(async () => (s = await startServer()));
  after(() => s.stop());

  it('has no metadata (404) and keeps the static challenge', async () => {
    const res = await s.fetch(`${s.url}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'ENOTFOUND');
    const refused = await s.fetch(`${s.url}/mcp`, { method: 'POST', body: '{}' });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="task-mcp"');
  });
});
