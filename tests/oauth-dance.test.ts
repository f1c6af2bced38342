/**
 * The whole MCP authorization dance, as the official v2 SDK client (`@modelcontextprotocol/client`) does it against
 * the real server with nothing but its URL: 401 → Protected Resource Metadata → authorization server metadata →
 * dynamic registration → authorize (the user's part played by the test's redirect handler) → token for
 * `resource` = the server's URL (RFC 8707) → `tools/call`. The authorization server is a real oidc-provider on
 * loopback; `PUBLIC_URL` is the server's real URL (its port is picked first). Then the same with the grant narrowed
 * to `changes:read`: reads work, and `change_open` is a 403 step-up challenge the client answers by authorizing
 * again for the union of its scopes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Client,
  InsufficientScopeError,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import { TestOAuthProvider } from './helpers/mcp-oauth.js';
import { addedDelta, checkAllTasks, writeDelta } from './helpers/repo.js';
import { assertNoToken } from './helpers/oauth-assert.js';
import { startDanceServers, stepOf, type DanceServers } from './helpers/oauth-dance.js';
import type { OidcServer } from './helpers/oidc.js';
import type { TestServer } from './helpers/server.js';

/** One request the client made, as the test saw it go by. */
interface Seen {
  step: string;
  status: number;
  challenge: string | null;
  body: string;
}

describe('the v2 SDK client, knowing only the URL', () => {
  let servers: DanceServers;
  let as: OidcServer;
  let s: TestServer;
  let url: string;
  const seen: Seen[] = [];
  const issued: string[] = [];

  /** The client's fetch: the test certificate trusted, and every request noted (its path, never its headers). */
  const watched: typeof fetch = async (input, init) => {
    const res = await s.fetch(input, init);
    seen.push({
      step: stepOf(servers, input, init),
      status: res.status,
      challenge: res.headers.get('www-authenticate'),
      body: typeof init?.body === 'string' ? init.body : init?.body instanceof URLSearchParams ? String(init.body) : '',
    });
    return res;
  };
  const transport = (provider: TestOAuthProvider, options: { onInsufficientScope?: 'throw' } = {}) =>
    new StreamableHTTPClientTransport(new URL('/mcp', url), { authProvider: provider, fetch: watched, ...options });
  const connect = async (provider: TestOAuthProvider, pin?: '2026-07-28') => {
    const client = new Client(
      { name: 'oauth-dance', version: '1' },
      pin ? { versionNegotiation: { mode: { pin } } } : {},
    );
    await client.connect(transport(provider));
    return client;
  };
  /** Connects as a client that has never seen the server: a 401, the dance, the redirect back, connected. */
  const firstContact = async (provider: TestOAuthProvider): Promise<Client> => {
    const unauthorized = await connect(provider).then(
      () => assert.fail('connected without authorization'),
      (err: unknown) => err,
    );
    assert.ok(unauthorized instanceof UnauthorizedError, String(unauthorized));
    // The app's callback: the code (and `iss`, RFC 9207) the redirect brought back, exchanged for a token.
    await transport(provider).finishAuth(provider.takeCallback());
    issued.push(provider.accessToken);
    return connect(provider);
  };

  before(async () => {
    servers = await startDanceServers();
    ({ as, s, url } = servers);
    assert.equal(s.url, url);
  });
  after(() => servers?.stop());

  it('completes the dance from a 401 to change_open, and the lock owner is the token subject', async () => {
    as.signInAs('carol');
    seen.length = 0;
    const provider = new TestOAuthProvider();
    const client = await firstContact(provider);
    try {
      const steps = seen.map((r) => `${r.step} ${r.status}`);
      const expected = [
        'POST server/mcp 401',
        'GET server/.well-known/oauth-protected-resource/mcp 200',
        'GET issuer/.well-known/oauth-authorization-server 200',
        'POST issuer/reg 201',
        'POST issuer/token 200',
      ];
      assert.deepEqual(
        steps.filter((step) => expected.includes(step)),
        expected,
        `the dance, in order: ${steps.join(' → ')}`,
      );
      assert.equal(
        seen[0]!.challenge,
        `Bearer realm="task-mcp", resource_metadata="${url}/.well-known/oauth-protected-resource/mcp", ` +
          'scope="changes:read changes:write"',
      );
      // Authorization code + PKCE for this resource and the challenge's scopes, by the client it registered.
      const [authorization] = provider.authorizations;
      assert.equal(authorization!.searchParams.get('resource'), `${url}/mcp`);
      assert.equal(authorization!.searchParams.get('scope'), 'changes:read changes:write');
      assert.equal(authorization!.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(authorization!.searchParams.get('client_id'), provider.registered!.client_id);
      const token = new URLSearchParams(seen.find((r) => r.step === 'POST issuer/token')!.body);
      assert.equal(token.get('grant_type'), 'authorization_code');
      assert.equal(token.get('resource'), `${url}/mcp`);
      const claims = decodeJwt(provider.accessToken);
      assert.equal(claims.aud, `${url}/mcp`);
      assert.equal(claims.sub, 'carol');

      const result = await client.callTool({
        name: 'change_open',
        arguments: { title: 'Over the dance', slug: 'dance-open' },
      });
      assert.equal(result.isError, undefined);
      assert.equal((result.structuredContent as { lock: { owner: string } }).lock.owner, 'carol~127-0-0-1');
      // The agent does the work; then the second tool archives it, and the receipt names the same caller.
      await writeDelta(s.repo.root, 'dance-open', 'dance', addedDelta('Dance through OAuth'));
      await checkAllTasks(s.repo.root, 'dance-open');
      const archive = await client.callTool({ name: 'change_archive', arguments: { slug: 'dance-open' } });
      assert.equal(archive.isError, undefined, JSON.stringify(archive.content));
      assert.equal((archive.structuredContent as { receipt: { actor: string } }).receipt.actor, 'carol~127-0-0-1');
    } finally {
      await client.close();
    }
  });

  it('with the grant narrowed to changes:read, reads, and meets change_open with a step-up it answers', async () => {
    as.signInAs('dave');
    as.grantOnly(['changes:read']);
    seen.length = 0;
    const provider = new TestOAuthProvider();
    const client = await firstContact(provider);
    try {
      assert.equal(decodeJwt(provider.accessToken).scope, 'changes:read');
      assert.deepEqual(
        (await client.listTools()).tools.map((t) => t.name),
        ['change_open', 'change_archive'],
      );
      const active = await client.readResource({ uri: 'changes://active' });
      assert.equal(active.contents[0]!.uri, 'changes://active');

      // A client that does not step up learns what to ask for (2026-07-28: the operation's scopes).
      const strict = new Client(
        { name: 'no-step-up', version: '1' },
        { versionNegotiation: { mode: { pin: '2026-07-28' } } },
      );
      await strict.connect(transport(provider, { onInsufficientScope: 'throw' }));
      const refused = await strict.callTool({ name: 'change_open', arguments: { title: 'No', slug: 'dance-no' } }).then(
        () => assert.fail('opened a change without changes:write'),
        (err: unknown) => err,
      );
      await strict.close();
      assert.ok(refused instanceof InsufficientScopeError, String(refused));
      assert.equal(refused.requiredScope, 'changes:write');
      assert.equal(refused.resourceMetadataUrl?.href, `${url}/.well-known/oauth-protected-resource/mcp`);

      // This client steps up: on the 403 it authorizes again for the union of its scopes; the user consents now.
      as.grantOnly(undefined);
      seen.length = 0;
      const stepUp = await client.callTool({ name: 'change_open', arguments: { title: 'Yes', slug: 'dance-up' } }).then(
        () => assert.fail('the call went through before the step-up finished'),
        (err: unknown) => err,
      );
      assert.ok(stepUp instanceof UnauthorizedError, String(stepUp));
      const forbidden = seen.find((r) => r.status === 403)!;
      assert.equal(forbidden.step, 'POST server/mcp');
      assert.equal(
        forbidden.challenge,
        `Bearer realm="task-mcp", resource_metadata="${url}/.well-known/oauth-protected-resource/mcp", ` +
          'scope="changes:read changes:write", error="insufficient_scope", ' +
          'error_description="This request needs the scope changes:write, which the token does not carry."',
      );
      assert.equal(provider.authorizations.at(-1)!.searchParams.get('scope'), 'changes:read changes:write');
      await transport(provider).finishAuth(provider.takeCallback());
      issued.push(provider.accessToken);
      assert.equal(decodeJwt(provider.accessToken).scope, 'changes:read changes:write');
      const result = await client.callTool({ name: 'change_open', arguments: { title: 'Yes', slug: 'dance-up' } });
      assert.equal((result.structuredContent as { lock: { owner: string } }).lock.owner, 'dave~127-0-0-1');
    } finally {
      await client.close();
    }
  });

  it('logs the callers, and no token anywhere', () => {
    assert.equal(issued.length, 3);
    const lines = s
      .logs()
      .map(({ caller, tool, res }) => ({ caller, tool, status: (res as { status?: number })?.status }));
    const calls = lines.filter((line) => line.tool === 'change.open');
    assert.deepEqual(
      calls.map((line) => `${line.caller as string} ${line.status}`),
      ['carol~127-0-0-1 200', 'dave~127-0-0-1 403', 'dave~127-0-0-1 403', 'dave~127-0-0-1 200'],
    );
    assertNoToken(s.rawLogs(), ...issued);
  });
});
