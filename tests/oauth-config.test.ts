import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, readConfig } from '../src/config/index.js';

const OAUTH = { PUBLIC_URL: 'https://tasks.example.com', OAUTH_ISSUER: 'https://auth.example.com' };

describe('the OAuth settings', () => {
  it('are off unless OAUTH_ISSUER is set', () => {
    const config = readConfig({});
    assert.equal(config.oauth, undefined);
    assert.equal(config.publicUrl, undefined);
  });

  it('read the issuers, and accept the three resource identifiers of PUBLIC_URL by default', () => {
    const config = readConfig({
      ...OAUTH,
      OAUTH_ISSUER: 'https://auth.example.com, https://login.example.org/tenant/',
    });
    assert.deepEqual(config.oauth, {
      publicUrl: 'https://tasks.example.com',
      issuers: ['https://auth.example.com', 'https://login.example.org/tenant/'],
      labels: { 'https://auth.example.com': 'auth', 'https://login.example.org/tenant/': 'login' },
      audiences: ['https://tasks.example.com', 'https://tasks.example.com/mcp', 'https://tasks.example.com/sse'],
      introspection: undefined,
      clockSkewSeconds: 30,
      fetchTimeoutMs: 5000,
      jwksCooldownMs: 30000,
    });
  });

  it('take OAUTH_AUDIENCE over the default, and the introspection endpoint with its credentials', () => {
    const config = readConfig({
      ...OAUTH,
      OAUTH_AUDIENCE: 'api://task-mcp',
      OAUTH_INTROSPECTION_URL: 'https://auth.example.com/introspect',
      OAUTH_INTROSPECTION_CLIENT_ID: 'task-mcp',
      OAUTH_INTROSPECTION_CLIENT_SECRET: 's3cret-value',
      OAUTH_INTROSPECTION_CACHE_SECONDS: '10',
    });
    assert.deepEqual(config.oauth?.audiences, ['api://task-mcp']);
    assert.deepEqual(config.oauth?.introspection, {
      url: 'https://auth.example.com/introspect',
      clientId: 'task-mcp',
      clientSecret: 's3cret-value',
      cacheSeconds: 10,
    });
  });

  it('let production run on OAuth alone, without static tokens', () => {
    const config = readConfig({ ...OAUTH, NODE_ENV: 'production', REPO_ROOT: '/srv/repo', TLS: 'off' });
    assert.deepEqual(config.tokens, []);
    assert.equal(config.production, true);
  });

  it('stop the server on a bad value, naming the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ OAUTH_ISSUER: OAUTH.OAUTH_ISSUER }, /^OAUTH_ISSUER needs PUBLIC_URL/],
      [{ ...OAUTH, PUBLIC_URL: 'https://tasks.example.com/base' }, /^PUBLIC_URL must be the public origin/],
      [{ ...OAUTH, PUBLIC_URL: 'http://tasks.example.com' }, /^PUBLIC_URL must be/],
      [{ ...OAUTH, PUBLIC_URL: 'tasks.example.com' }, /^PUBLIC_URL must be/],
      [{ ...OAUTH, OAUTH_ISSUER: 'http://auth.example.com' }, /^OAUTH_ISSUER entry 1 must be an https: URL/],
      [{ ...OAUTH, OAUTH_ISSUER: 'https://a.example.com,https://b.example.com?x=1' }, /^OAUTH_ISSUER entry 2/],
      [{ ...OAUTH, OAUTH_ISSUER: 'https://a.example.com#f' }, /^OAUTH_ISSUER entry 1/],
      [{ ...OAUTH, OAUTH_ISSUER: 'https://a.example.com,https://a.example.com' }, /names an issuer twice/],
      [{ OAUTH_AUDIENCE: 'api://x' }, /^OAUTH_AUDIENCE needs OAUTH_ISSUER/],
      [{ OAUTH_INTROSPECTION_URL: 'https://a.example.com/i' }, /^OAUTH_INTROSPECTION_URL needs OAUTH_ISSUER/],
      [{ ...OAUTH, OAUTH_INTROSPECTION_URL: 'https://a.example.com/i' }, /needs OAUTH_INTROSPECTION_CLIENT_ID and/],
      [{ ...OAUTH, OAUTH_INTROSPECTION_URL: 'ftp://a.example.com/i' }, /^OAUTH_INTROSPECTION_URL must be an https:/],
      [{ ...OAUTH, OAUTH_INTROSPECTION_CLIENT_ID: 'x' }, /^OAUTH_INTROSPECTION_CLIENT_ID\/_SECRET need/],
      [{ ...OAUTH, OAUTH_CLOCK_SKEW_SECONDS: '3600' }, /^OAUTH_CLOCK_SKEW_SECONDS must be a whole number from 0/],
      [{ ...OAUTH, OAUTH_FETCH_TIMEOUT_MS: '10' }, /^OAUTH_FETCH_TIMEOUT_MS must be/],
      [{ ...OAUTH, OAUTH_JWKS_COOLDOWN_MS: '-1' }, /^OAUTH_JWKS_COOLDOWN_MS must be/],
      [{ ...OAUTH, OAUTH_INTROSPECTION_CACHE_SECONDS: 'a minute' }, /^OAUTH_INTROSPECTION_CACHE_SECONDS must/],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => readConfig(env),
        (err: Error) => err instanceof ConfigError && message.test(err.message),
        `${JSON.stringify(env)} should fail with ${message}`,
      );
    }
  });

  it('accept http: issuers only on loopback (a local or test authorization server)', () => {
    const config = readConfig({ PUBLIC_URL: 'http://127.0.0.1:8443', OAUTH_ISSUER: 'http://127.0.0.1:9000' });
    assert.deepEqual(config.oauth?.issuers, ['http://127.0.0.1:9000']);
  });

  it('never put the introspection secret in a message', () => {
    const secret = 'very-secret-introspection-password';
    assert.throws(
      () => readConfig({ OAUTH_INTROSPECTION_CLIENT_SECRET: secret, OAUTH_INTROSPECTION_URL: 'nope' }),
      (err: Error) => err instanceof ConfigError && !err.message.includes(secret),
    );
  });
});
