/**
 * The OAuth verifier against a real authorization server (oidc-provider on loopback): tokens it really issued, by
 * authorization code + PKCE and by client credentials, and the hostile variants of them an attacker can make.
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, decodeJwt, type JWK } from 'jose';
import { discoveryUrls } from '../src/auth/issuer-metadata.js';
import { REFUSED, createOAuthVerifier, type OAuthVerifierOptions } from '../src/auth/oauth-verifier.js';
import { assertRefused, assertUnavailable } from './helpers/oauth-assert.js';
import {
  authorizationCodeToken,
  clientCredentialsToken,
  discover,
  registerConfidentialClient,
  registerPublicClient,
  type RegisteredClient,
} from './helpers/oauth-client.js';
import { startOidc, type OidcServer } from './helpers/oidc.js';

const RESOURCE = 'https://task-mcp.test/mcp';
const OTHER_RESOURCE = 'https://other.test/api';
const SKEW_SECONDS = 30;
const TTL_SECONDS = 300;

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const parts = (token: string): [string, string, string] => token.split('.') as [string, string, string];
const kidOf = (token: string): unknown => JSON.parse(Buffer.from(parts(token)[0], 'base64url').toString()).kid;

describe('the OAuth verifier, against a real authorization server', () => {
  let as: OidcServer;
  let stranger: OidcServer;
  let service: RegisteredClient;

  before(async () => {
    as = await startOidc({ resources: [RESOURCE, OTHER_RESOURCE], accessTokenTtlSeconds: TTL_SECONDS });
    stranger = await startOidc({ resources: [RESOURCE] });
    service = await registerConfidentialClient(as.issuer);
  });
  after(async () => {
    await as.stop();
    await stranger.stop();
  });

  const verifier = (options: Partial<OAuthVerifierOptions> = {}) =>
    createOAuthVerifier({
      issuers: [as.issuer],
      audiences: [RESOURCE],
      clockSkewSeconds: SKEW_SECONDS,
      fetchTimeoutMs: 2000,
      jwksCooldownMs: 0,
      ...options,
    });
  const serviceToken = (scope = 'changes:read changes:write') =>
    clientCredentialsToken(as.issuer, service, { resource: RESOURCE, scope });

  it('accepts an authorization code + PKCE token: the subject is the user, the scopes are those granted', async () => {
    const client = await registerPublicClient(as.issuer);
    const token = await authorizationCodeToken(as.issuer, client, {
      resource: RESOURCE,
      scope: 'changes:read',
      subject: 'carol',
    });
    const principal = await verifier().verify(token);
    assert.deepEqual(principal, {
      subject: 'carol',
      clientId: client.client_id,
      issuer: as.issuer,
      scopes: ['changes:read'],
      expiresAt: new Date(decodeJwt(token).exp! * 1000),
    });
  });

  it('accepts a client credentials token: the subject is the client', async () => {
    const token = await serviceToken();
    const principal = await verifier().verify(token);
    assert.equal(principal.subject, service.client_id);
    assert.equal(principal.clientId, service.client_id);
    assert.deepEqual(principal.scopes, ['changes:read', 'changes:write']);
  });

  it('refuses a token the same issuer made for another audience (no token passthrough)', async () => {
    const token = await clientCredentialsToken(as.issuer, service, { resource: OTHER_RESOURCE });
    await assertRefused(verifier().verify(token), token, REFUSED.audience);
  });

  it('refuses a token from an issuer it does not trust, without fetching anything from that issuer', async () => {
    const client = await registerConfidentialClient(stranger.issuer);
    const token = await clientCredentialsToken(stranger.issuer, client, { resource: RESOURCE });
    const before = ['/jwks', '/.well-known/openid-configuration'].map((path) => stranger.hits(path));
    await assertRefused(verifier().verify(token), token, REFUSED.issuer);
    assert.deepEqual(
      ['/jwks', '/.well-known/openid-configuration'].map((path) => stranger.hits(path)),
      before,
      'the untrusted issuer was contacted',
    );
  });

  it('refuses an expired token, past the clock skew', async () => {
    const token = await serviceToken();
    const { exp } = decodeJwt(token);
    const at = (seconds: number) => verifier({ now: () => seconds * 1000 }).verify(token);
    assert.equal((await at(exp! + SKEW_SECONDS - 1)).subject, service.client_id, 'within the skew it is accepted');
    await assertRefused(at(exp! + SKEW_SECONDS), token, REFUSED.expired);
  });

  it('refuses a token whose nbf is still ahead, past the clock skew', async () => {
    const token = await serviceToken();
    const { nbf } = decodeJwt(token);
    const at = (seconds: number) => verifier({ now: () => seconds * 1000 }).verify(token);
    assert.equal((await at(nbf! - SKEW_SECONDS)).subject, service.client_id, 'within the skew it is accepted');
    await assertRefused(at(nbf! - SKEW_SECONDS - 1), token, REFUSED.notYetValid);
  });

  it('refuses an unsigned token (alg: none) before fetching any key', async () => {
    const [, payload] = parts(await serviceToken());
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`;
    await assertRefused(verifier().verify(token), token, REFUSED.algorithm);
  });

  it("refuses HS256 signed with the issuer's public key as the secret (algorithm confusion)", async () => {
    const good = await serviceToken();
    const { keys } = (await (await fetch((await discover(as.issuer)).jwks_uri)).json()) as { keys: JWK[] };
    const pem = createPublicKey({ key: keys[0]!, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const token = await new SignJWT(decodeJwt(good))
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: keys[0]!.kid! })
      .sign(new TextEncoder().encode(String(pem)));
    await assertRefused(verifier().verify(token), token, REFUSED.algorithm);
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [header, payload, signature] = parts(await serviceToken());
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const token = `${header}.${b64({ ...claims, sub: 'root', scope: 'changes:read changes:write admin' })}.${signature}`;
    await assertRefused(verifier().verify(token), token, REFUSED.signature);
  });

  it('refuses malformed tokens, and tokens that are not JWTs when no introspection is configured', async () => {
    const [header, , signature] = parts(await serviceToken());
    const cases: Array<[string, string]> = [
      ['not-a-token-at-all-0123456789', REFUSED.notJwt],
      ['a.b.c', REFUSED.malformed],
      [`${header}.${Buffer.from('not json').toString('base64url')}.${signature}`, REFUSED.malformed],
      [`${header}.${b64(['an', 'array'])}.${signature}`, REFUSED.malformed],
      [`${header}.${b64({ iss: 42 })}.${signature}`, REFUSED.issuer],
    ];
    for (const [token, description] of cases) await assertRefused(verifier().verify(token), token, description);
  });

  it('follows a key rotation: a new kid is fetched once; a key the issuer no longer publishes is refused', async () => {
    const rotating = await startOidc({ resources: [RESOURCE] });
    try {
      const client = await registerConfidentialClient(rotating.issuer);
      const token = () => clientCredentialsToken(rotating.issuer, client, { resource: RESOURCE });
      const check = verifier({ issuers: [rotating.issuer] });
      const old = await token();
      assert.equal((await check.verify(old)).subject, client.client_id);
      assert.equal(rotating.hits('/jwks'), 1);
      rotating.rotateKeys();
      const fresh = await token();
      assert.notEqual(kidOf(fresh), kidOf(old), 'the issuer signs with its new key');
      assert.equal((await check.verify(fresh)).subject, client.client_id);
      assert.equal(rotating.hits('/jwks'), 2, 'the unknown kid made it fetch the JWKS again, once');
      await assertRefused(check.verify(old), old, REFUSED.unknownKey);
    } finally {
      await rotating.stop();
    }
  });

  it('does not fetch the JWKS again for an unknown kid within the cooldown', async () => {
    const rotating = await startOidc({ resources: [RESOURCE] });
    try {
      const client = await registerConfidentialClient(rotating.issuer);
      const check = verifier({ issuers: [rotating.issuer], jwksCooldownMs: 3_600_000 });
      await check.verify(await clientCredentialsToken(rotating.issuer, client, { resource: RESOURCE }));
      rotating.rotateKeys();
      const fresh = await clientCredentialsToken(rotating.issuer, client, { resource: RESOURCE });
      await assertRefused(check.verify(fresh), fresh, REFUSED.unknownKey);
      assert.equal(rotating.hits('/jwks'), 1);
    } finally {
      await rotating.stop();
    }
  });

  it('says an unreachable issuer is unavailable (not the token), reports degraded, and still uses keys it holds', async () => {
    const failing = await startOidc({ resources: [RESOURCE] });
    const client = await registerConfidentialClient(failing.issuer);
    const token = await clientCredentialsToken(failing.issuer, client, { resource: RESOURCE });
    const warm = verifier({ issuers: [failing.issuer] });
    await warm.verify(token);
    await failing.stop();

    const cold = verifier({ issuers: [failing.issuer] });
    assert.equal(cold.health(), 'ok');
    await assertUnavailable(cold.verify(token), token, failing.issuer, /the connection failed/);
    assert.equal(cold.health(), 'degraded');
    assert.equal((await warm.verify(token)).subject, client.client_id, 'cached keys need no issuer');
    assert.equal(warm.health(), 'ok');
  });

  it('looks for metadata where RFC 8414 puts it, then where OpenID Connect Discovery does', () => {
    assert.deepEqual(discoveryUrls('https://as.example.com/tenant/'), [
      'https://as.example.com/.well-known/oauth-authorization-server/tenant',
      'https://as.example.com/tenant/.well-known/openid-configuration',
    ]);
    assert.deepEqual(discoveryUrls('https://as.example.com'), [
      'https://as.example.com/.well-known/oauth-authorization-server',
      'https://as.example.com/.well-known/openid-configuration',
    ]);
  });

  it('does not use metadata that names another issuer (RFC 8414 §3.3): the issuer is unavailable', async () => {
    // The same server under another name: its metadata says 127.0.0.1, the configured issuer says localhost.
    const alias = as.issuer.replace('127.0.0.1', 'localhost');
    const [header, payload, signature] = parts(await serviceToken());
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const token = `${header}.${b64({ ...claims, iss: alias })}.${signature}`;
    await assertUnavailable(verifier({ issuers: [alias] }).verify(token), token, alias, /no usable metadata/);
  });

  it('refuses to be built with an algorithm outside the asymmetric allowlist', () => {
    for (const algorithms of [['HS256'], ['none'], []]) {
      assert.throws(() => verifier({ algorithms }), /algorithms must be some of RS256/);
    }
  });
});
