import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { ConfigError, SETTINGS, describeSetting, readConfig } from '../src/config/index.js';
import { bearerToken } from '../src/auth/bearer-token.js';

const TOKENS = 'ci:0123456789abcdef0123';

describe('configuration', () => {
  it('runs on the embedded defaults when nothing is set', () => {
    const config = readConfig({});
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 8443);
    assert.deepEqual(config.tls, { mode: 'dev' });
    assert.deepEqual(config.tokens, []);
    assert.equal(config.repoRoot, undefined);
    assert.equal(config.heartbeatMs, 25000);
  });

  it('stops on a bad value with a message naming the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PORT: 'eighty' }, /^PORT must be a whole number/],
      [{ PORT: '70000' }, /^PORT must be/],
      [{ HEARTBEAT_MS: '5' }, /^HEARTBEAT_MS/],
      [{ TLS: 'on' }, /^TLS must be "off"/],
      [{ TLS_CERT: '/c.pem' }, /TLS_CERT and TLS_KEY must be set together/],
      [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
      [{ MCP_TOOL_NAMES: 'both' }, /^MCP_TOOL_NAMES/],
      [{ CORS_ORIGINS: 'https://a.test/path' }, /^CORS_ORIGINS entry/],
      [{ CORS_ORIGINS: 'not a url' }, /^CORS_ORIGINS entry/],
      [{ COOKIE_SECRET: 'short' }, /^COOKIE_SECRET/],
      [{ TASK_MCP_TOKENS: 'alice:short' }, /^TASK_MCP_TOKENS entry 1 \(alice\)/],
      [{ TASK_MCP_TOKENS: `${TOKENS},ci:fedcba9876543210fedc` }, /names ci twice/],
      [{ TRUST_PROXY: 'yes' }, /^TRUST_PROXY/],
      [{ METRICS_PORT: 'nine' }, /^METRICS_PORT must be a whole number from 0 to 65535/],
      [{ METRICS_HOST: 'a host' }, /^METRICS_HOST must be an address or host name/],
      [{ METRICS_TOKEN: 'short' }, /^METRICS_TOKEN needs 16–512 visible ASCII characters; it is 5 characters long/],
      [{ METRICS_CALLER_LABELS: 'yes' }, /^METRICS_CALLER_LABELS must be one of 0, 1/],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => readConfig(env),
        (err: Error) => err instanceof ConfigError && message.test(err.message),
      );
    }
  });

  it('serves no metrics unless METRICS_PORT is set, and then on loopback by default', () => {
    assert.equal(readConfig({ METRICS_TOKEN: 'scrape-token-0123456789' }).metrics, undefined);
    assert.deepEqual(readConfig({ METRICS_PORT: '9464' }).metrics, {
      host: '127.0.0.1',
      port: 9464,
      token: undefined,
      callerLabels: false,
    });
    const metrics = readConfig({
      METRICS_PORT: '0',
      METRICS_TOKEN: 'scrape-token-0123456789',
      METRICS_CALLER_LABELS: '1',
    }).metrics;
    assert.deepEqual(metrics, { host: '127.0.0.1', port: 0, token: 'scrape-token-0123456789', callerLabels: true });
  });

  it('refuses, at start, every token the bearer parser would refuse, naming the entry and never the token', () => {
    const cases: Array<[string, RegExp]> = [
      ['x'.repeat(15), /^TASK_MCP_TOKENS entry 2 \(bob\) .*its token is 15 characters long, fewer than 16$/],
      ['x'.repeat(513), /^TASK_MCP_TOKENS entry 2 \(bob\) .*its token is 513 characters long, more than 512$/],
      ['0123456789abcdeé', /^TASK_MCP_TOKENS entry 2 \(bob\) .*its token has a non-ASCII character at character 16$/],
      [
        '0123456789\u0000abcdef',
        /^TASK_MCP_TOKENS entry 2 \(bob\) .*its token has a control character at character 11$/,
      ],
      ['0123456789\x7fabcdef', /its token has a control character at character 11$/],
      ['01234567 89abcdef', /its token has white space at character 9$/],
      ['01234567\t89abcdef', /its token has white space at character 9$/],
    ];
    for (const [token, message] of cases) {
      assert.throws(
        () => readConfig({ TASK_MCP_TOKENS: `${TOKENS},bob:${token}` }),
        (err: Error) => err instanceof ConfigError && message.test(err.message) && !err.message.includes(token),
        JSON.stringify(token),
      );
    }
  });

  it('accepts exactly the tokens the bearer parser accepts, at both length bounds', () => {
    for (const token of ['x'.repeat(16), '!~'.repeat(256), 'a:b/c+d=e_f-g.h~']) {
      assert.deepEqual(readConfig({ TASK_MCP_TOKENS: `bob:${token}` }).tokens, [{ name: 'bob', token }]);
      assert.equal(bearerToken(`Bearer ${token}`), token);
    }
  });

  it('never puts a token in a configuration error', () => {
    const secret = 'x'.repeat(8);
    assert.throws(
      () => readConfig({ TASK_MCP_TOKENS: `bad name:${secret}` }),
      (err: Error) => !err.message.includes(secret),
    );
  });

  it('refuses the embedded defaults in production, naming what is missing', () => {
    assert.throws(
      () => readConfig({ NODE_ENV: 'production' }),
      /NODE_ENV=production needs TASK_MCP_TOKENS \(or OAUTH_ISSUER\), REPO_ROOT, TLS_CERT and TLS_KEY \(or TLS=off\)/,
    );
    const config = readConfig({ NODE_ENV: 'production', TASK_MCP_TOKENS: TOKENS, REPO_ROOT: '/srv/repo', TLS: 'off' });
    assert.equal(config.production, true);
  });

  it('reads TRUST_PROXY as a hop count', () => {
    assert.equal(readConfig({ TRUST_PROXY: 'true' }).trustProxy, 1);
    assert.equal(readConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
  });

  it('reads WORKERS as a count or auto (one per CPU), 1 by default', () => {
    const redis = { REDIS_URL: 'redis://127.0.0.1:6379' };
    assert.equal(readConfig({}).workers, 1);
    assert.equal(readConfig({ ...redis, WORKERS: '4' }).workers, 4);
    assert.equal(readConfig({ ...redis, WORKERS: 'auto' }).workers, availableParallelism());
    for (const bad of ['0', '257', 'two', '-1']) {
      assert.throws(() => readConfig({ ...redis, WORKERS: bad }), /^ConfigError: WORKERS must be a whole number/);
    }
    assert.throws(
      () => readConfig({ WORKERS_WITHOUT_REDIS: 'yes' }),
      /^ConfigError: WORKERS_WITHOUT_REDIS must be one/,
    );
  });

  it('refuses WORKERS > 1 without REDIS_URL, naming both, unless WORKERS_WITHOUT_REDIS=1 says otherwise', () => {
    assert.throws(
      () => readConfig({ WORKERS: '2' }),
      (err: Error) =>
        err instanceof ConfigError && /^WORKERS=2 needs REDIS_URL: .*WORKERS_WITHOUT_REDIS=1/.test(err.message),
    );
    const unshared = readConfig({ WORKERS: '2', WORKERS_WITHOUT_REDIS: '1' });
    assert.deepEqual([unshared.workers, unshared.workersWithoutRedis, unshared.redisUrl], [2, true, undefined]);
    assert.equal(readConfig({ WORKERS: '1' }).workersWithoutRedis, false);
  });

  it('is documented in the README table (npm run generate writes it), variable by variable, with its bounds', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = new Map(
      readme
        .split('\n')
        .filter((line) => /^\| `[A-Z_]+` /.test(line))
        .map((line) => line.split('|').map((cell) => cell.trim()))
        .map(([, name, defaultValue, description]) => [name!.slice(1, -1), { default: defaultValue, description }]),
    );
    assert.deepEqual([...rows.keys()], Object.keys(SETTINGS), "one row per setting, in the table's order");
    for (const [name, setting] of Object.entries(SETTINGS)) {
      const row = rows.get(name)!;
      assert.equal(row.default, setting.default ? `\`${setting.default}\`` : '—', `${name}'s default`);
      assert.equal(row.description, describeSetting(setting), `${name}'s description, with its bounds`);
    }
  });
});
