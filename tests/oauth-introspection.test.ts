/**
 * Opaque access tokens through RFC 7662 introspection, against a real authorization server that issues them
 * (oidc-provider on loopback), with this resource server's own client credentials.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REFUSED, createOAuthVerifier, type OAuthVerifierOptions } from '../src/auth/oauth-verifier.js';
import { assertRefused, assertUnavailable } from './helpers/oauth-assert.js';
import {
  authorizationCodeToken,
  clientCredentialsToken,
  discover,
  registerConfidentialClient,
  registerPublicClient,
  revokeToken,
  type RegisteredClient,
} from './helpers/oauth-client.js';
import { startOidc, type OidcServer } from './helpers/oidc.js';

const RESOURCE = 'https://task-mcp.test/mcp';
const OTHER_RESOURCE = 'https://other.test/api';
const SKEW_SECONDS = 30;
const TTL_SECONDS = 600;
const CACHE_SECONDS = 60;

describe('opaque tokens through introspection', () => {
  let as: OidcServer;
  let introspectionUrl: string;
  let resourceServer: RegisteredClient;
  let service: RegisteredClient;

  before(async () => {
    as = await startOidc({
      resources: [RESOURCE, OTHER_RESOURCE],
      accessTokenFormat: 'opaque',
      accessTokenTtlSeconds: TTL_SECONDS,
    });
    introspectionUrl = (await discover(as.issuer)).introspection_endpoint;
    resourceServer = await registerConfidentialClient(as.issuer);
    service = await registerConfidentialClient(as.issuer);
  });
  after(() => as.stop());

  /** A verifier on a clock the test moves: `clock.now` is epoch ms. */
  const verifier = (clock = { now: Date.now() }, options: Partial<OAuthVerifierOptions> = {}) =>
    createOAuthVerifier({
      issuers: [as.issuer],
      audiences: [RESOURCE],
      introspection: {
        url: introspectionUrl,
        clientId: resourceServer.client_id,
        clientSecret: resourceServer.client_secret!,
        cacheSeconds: CACHE_SECONDS,
      },
      clockSkewSeconds: SKEW_SECONDS,
      fetchTimeoutMs: 2000,
      now: () => clock.now,
      ...options,
    });
  const serviceToken = (resource = RESOURCE) =>
    clientCredentialsToken(as.issuer, service, { resource, scope: 'changes:read' });
  const introspections = () => as.hits('/token/introspection');

  it('accepts an opaque authorization code token: subject, client and scopes from the answer', async () => {
    const client = await registerPublicClient(as.issuer);
    const token = await authorizationCodeToken(as.issuer, client, { resource: RESOURCE, subject: 'dave' });
    const principal = await verifier().verify(token);
    assert.equal(principal.subject, 'dave');
    assert.equal(principal.clientId, client.client_id);
    assert.equal(principal.issuer, as.issuer);
    assert.deepEqual(principal.scopes, ['changes:read', 'changes:write']);
  });

  it('accepts an opaque client credentials token: the subject is the client', async () => {
    const principal = await verifier().verify(await serviceToken());
    assert.equal(principal.subject, service.client_id);
    assert.deepEqual(principal.scopes, ['changes:read']);
  });

  it('reuses an answer for at most cacheSeconds: a revoked token is refused once its entry is that old', async () => {
    const clock = { now: Date.now() };
    const check = verifier(clock);
    const token = await serviceToken();
    const first = introspections();
    await check.verify(token);
    await check.verify(token);
    assert.equal(introspections(), first + 1, 'the second call was answered from the cache');
    await revokeToken(as.issuer, service, token);
    clock.now += (CACHE_SECONDS - 1) * 1000;
    assert.equal((await check.verify(token)).subject, service.client_id, 'still cached: revocation not yet seen');
    clock.now += 1000;
    await assertRefused(check.verify(token), token, REFUSED.inactive);
    assert.equal(introspections(), first + 2);
  });

  it("reuses an answer for at most the token's remaining life", async () => {
    const clock = { now: Date.now() };
    const check = verifier(clock, {
      introspection: {
        url: introspectionUrl,
        clientId: resourceServer.client_id,
        clientSecret: resourceServer.client_secret!,
        cacheSeconds: 10 * TTL_SECONDS,
      },
    });
    const token = await serviceToken();
    const principal = await check.verify(token);
    const first = introspections();
    clock.now = principal.expiresAt.getTime() - 1;
    await check.verify(token);
    assert.equal(introspections(), first, 'cached until the token expires');
    clock.now = principal.expiresAt.getTime() + SKEW_SECONDS * 1000;
    await assertRefused(check.verify(token), token, REFUSED.expired);
    assert.equal(introspections(), first + 1, 'asked again once the cached life was over');
  });

  it('refuses an opaque token issued for another audience', async () => {
    const token = await serviceToken(OTHER_RESOURCE);
    await assertRefused(verifier().verify(token), token, REFUSED.audience);
  });

  it('refuses a token the authorization server does not know', async () => {
    const token = 'made-up-opaque-token-0123456789abcdef';
    await assertRefused(verifier().verify(token), token, REFUSED.inactive);
  });

  it('counts wrong introspection credentials as an unavailable issuer, not as a bad token', async () => {
    const token = await serviceToken();
    const check = verifier(undefined, {
      introspection: {
        url: introspectionUrl,
        clientId: resourceServer.client_id,
        clientSecret: 'wrong',
        cacheSeconds: 0,
      },
    });
    await assertUnavailable(check.verify(token), token, introspectionUrl);
  });

  it('says an unreachable introspection endpoint is unavailable, and reports degraded', async () => {
    const failing = await startOidc({ resources: [RESOURCE], accessTokenFormat: 'opaque' });
    const url = (await discover(failing.issuer)).introspection_endpoint;
    const rs = await registerConfidentialClient(failing.issuer);
    const token = await clientCredentialsToken(failing.issuer, rs, { resource: RESOURCE });
    await failing.stop();
    const check = verifier(undefined, {
      issuers: [failing.issuer],
      introspection: { url, clientId: rs.client_id, clientSecret: rs.client_secret!, cacheSeconds: CACHE_SECONDS },
    });
    await assertUnavailable(check.verify(token), token, url);
    assert.equal(check.health(), 'degraded');
  });
});
