/**
 * The MCP authorization dance over the HTTP+SSE transport, as the v1 SDK client (`@modelcontextprotocol/sdk`'s
 * `SSEClientTransport`) does it with nothing but the server's URL: the `GET /sse` 401 → the `/sse` resource's
 * metadata → authorization server metadata → dynamic registration → authorize → token for `resource` =
 * `PUBLIC_URL/sse` → `tools/call`. With the grant narrowed to `changes:read`, reads work; `change_open` is refused
 * with the 403 step-up challenge, which this client does not answer (its `send` fails with the status), and the
 * session goes on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { decodeJwt } from 'jose';
import { TestOAuthProvider } from './helpers/mcp-oauth.js';
import { assertNoToken } from './helpers/oauth-assert.js';
import { startDanceServers, stepOf, type DanceServers } from './helpers/oauth-dance.js';
import type { OidcServer } from './helpers/oidc.js';
import type { TestServer } from './helpers/server.js';

describe('the v1 SDK client over /sse, knowing only the URL', () => {
  let servers: DanceServers;
  let as: OidcServer;
  let s: TestServer;
  let url: string;
  const issued: string[] = [];
  const requested: string[] = [];

  /** The client's fetch: the test certificate trusted, every request's method and path noted. */
  const watched: typeof fetch = async (input, init) => {
    const res = await s.fetch(input, init);
    requested.push(`${stepOf(servers, input, init)} ${res.status}`);
    return res;
  };
  // The v1 SDK takes the same provider shape; its types are its own.
  const transport = (provider: TestOAuthProvider) =>
    new SSEClientTransport(new URL('/sse', url), {
      authProvider: provider as unknown as OAuthClientProvider,
      fetch: watched,
    });
  /** A first contact: the 401, the dance, the app's callback with the code, then a connected client. */
  const firstContact = async (provider: TestOAuthProvider): Promise<Client> => {
    const refused = await new Client({ name: 'sse-dance', version: '1' }).connect(transport(provider)).then(
      () => assert.fail('connected without authorization'),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof UnauthorizedError, String(refused));
    await transport(provider).finishAuth(provider.takeCallback().get('code')!);
    issued.push(provider.accessToken);
    const client = new Client({ name: 'sse-dance', version: '1' });
    await client.connect(transport(provider));
    return client;
  };

  before(async () => {
    servers = await startDanceServers();
    ({ as, s, url } = servers);
  });
  after(() => servers?.stop());

  it('completes the dance from the stream 401 to change_open, owned by the token subject', async () => {
    as.signInAs('erin');
    requested.length = 0;
    const provider = new TestOAuthProvider();
    const client = await firstContact(provider);
    try {
      // Every request, in order: the dance, then the stream and the session's initialize and initialized.
      assert.deepEqual(requested, [
        'GET server/sse 401',
        'GET server/.well-known/oauth-protected-resource/sse 200',
        'GET issuer/.well-known/oauth-authorization-server 200',
        'POST issuer/reg 201',
        'POST issuer/token 200',
        'GET server/sse 200',
        'POST server/messages 202',
        'POST server/messages 202',
      ]);
      assert.equal(provider.authorizations[0]!.searchParams.get('resource'), `${url}/sse`);
      assert.equal(decodeJwt(provider.accessToken).aud, `${url}/sse`);
      const result = await client.callTool({
        name: 'change_open',
        arguments: { title: 'Over SSE', slug: 'sse-dance' },
      });
      assert.equal((result.structuredContent as { lock: { owner: string } }).lock.owner, 'erin~127-0-0-1');
    } finally {
      await client.close();
    }
  });

  it('with the grant narrowed to changes:read, reads, and its change_open fails on the 403 without ending the session', async () => {
    as.signInAs('frank');
    as.grantOnly(['changes:read']);
    const provider = new TestOAuthProvider();
    const client = await firstContact(provider);
    try {
      assert.equal(decodeJwt(provider.accessToken).scope, 'changes:read');
      assert.equal((await client.listTools()).tools.length, 2);
      const failed = await client.callTool({ name: 'change_open', arguments: { title: 'No', slug: 'sse-no' } }).then(
        () => assert.fail('opened a change without changes:write'),
        (err: unknown) => err as Error,
      );
      assert.match(failed.message, /^Error POSTing to endpoint \(HTTP 403\): .*"code":"EINSUFFICIENT_SCOPE"/);
      const active = await client.readResource({ uri: 'changes://active' });
      assert.equal(active.contents[0]!.uri, 'changes://active');
      assert.equal(provider.authorizations.length, 1, 'the v1 SSE client does not step up');
    } finally {
      as.grantOnly(undefined);
      await client.close();
    }
    assertNoToken(s.rawLogs(), ...issued);
  });
});
